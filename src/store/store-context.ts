import type { Kysely } from 'kysely';
import type { Clock } from '../clock.js';
import type { DialectProfile, NewRowWriter } from './dialect-profile.js';
import type { Database } from './schema.js';

/** What every repository implementation is built from. */
export interface StoreContext {
  db: Kysely<Database>;
  profile: DialectProfile;
  clock: Clock;
  /** See `OpenedDatabase.writeNewRows`. */
  writeNewRows?: NewRowWriter;
}
