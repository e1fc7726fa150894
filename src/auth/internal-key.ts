import { hash, timingSafeEqual } from 'node:crypto';
import { GatewayError } from '../errors/gateway-error.js';
import type { Principal } from './principal.js';

/** One-shot `hash` instead of a `Hash` object per call: every request with a bearer key runs this. */
export function sha256(value: string): Buffer {
  return hash('sha256', value, 'buffer');
}

/** `Authorization: Bearer <token>`, scheme case-insensitive; anything else is no key at all. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const space = header.indexOf(' ');
  if (space === -1 || header.slice(0, space).toLowerCase() !== 'bearer') return undefined;
  const token = header.slice(space + 1).trim();
  return token.length > 0 ? token : undefined;
}

/** Compares secrets in constant time over fixed-length digests (SPEC §6). */
export function isSameSecret(candidateDigest: Buffer, expectedDigest: Buffer): boolean {
  return timingSafeEqual(candidateDigest, expectedDigest);
}

/** The internal service key with no attribution headers: built-in org and project `internal`. */
export const internalPrincipal: Readonly<Principal> = Object.freeze({
  keyId: 'internal',
  orgId: 'internal',
  projectId: 'internal',
  isInternal: true,
  keyRateLimit: null,
  keyTokenRateLimit: null,
  orgRateLimit: null,
  orgTokenRateLimit: null,
});

/** Authenticates with the internal service key alone (until keys are stored). */
export function createInternalKeyAuthenticator(internalKey: string | undefined) {
  const expected = internalKey ? sha256(internalKey) : undefined;
  return (authorization: string | undefined): Principal => {
    const token = bearerToken(authorization);
    if (token === undefined) throw new GatewayError('missing_api_key');
    if (expected && isSameSecret(sha256(token), expected)) return internalPrincipal;
    throw new GatewayError('invalid_api_key');
  };
}
