import { randomBase62 } from '../ids.js';
import { sha256 } from './internal-key.js';

export const apiKeyPrefix = 'mk_live_';
/** Characters of a key kept in clear for display (SPEC §6: `prefix`, first 12 chars). */
export const displayPrefixLength = 12;

export interface GeneratedApiKey {
  /** The secret, shown once and never stored. */
  key: string;
  /** SHA-256 hex of `key`: the only form stored. */
  hash: string;
  /** First 12 characters, for display. */
  prefix: string;
}

/** SHA-256 hex of any bearer string; imported keys of other formats hash the same way. */
export function hashApiKey(key: string): string {
  return sha256(key).toString('hex');
}

/** `mk_live_` + 32 base62 characters (≈ 190 bits of entropy). */
export function generateApiKey(): GeneratedApiKey {
  const key = apiKeyPrefix + randomBase62(32);
  return { key, hash: hashApiKey(key), prefix: key.slice(0, displayPrefixLength) };
}
