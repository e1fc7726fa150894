import { randomBase62 } from '../ids.js';

export type StoredIdPrefix = 'org' | 'proj' | 'key' | 'ctr' | 'bud';

/** Public ids of stored resources: `org_…`, `proj_…`, `key_…`, `ctr_…`, `bud_…` + 24 base62 (143 bits). */
export function newStoredId(prefix: StoredIdPrefix): string {
  return `${prefix}_${randomBase62(24)}`;
}
