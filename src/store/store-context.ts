import type { Kysely } from 'kysely';
import type { Clock } from '../clock.js';
import type { BatchWriter, DialectProfile } from './dialect-profile.js';
import type { Database } from './schema.js';

/** What every repository implementation is built from. */
export interface StoreContext {
  db: Kysely<Database>;
  profile: DialectProfile;
  clock: Clock;
  /** See `OpenedDatabase.batchWriter`. */
  batchWriter?: BatchWriter;
}
