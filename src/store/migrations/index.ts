import type { Kysely, Migration } from 'kysely';
import type { DialectProfile } from '../dialect-profile.js';
import * as tenancy from './0001-tenancy.js';
import * as billing from './0002-billing.js';
import * as requestEvents from './0003-request-events.js';
import * as containers from './0004-containers.js';
import * as responses from './0005-responses.js';
import * as internalOrg from './0006-internal-org.js';

type Up = (db: Kysely<unknown>, profile: DialectProfile) => Promise<void>;

/** Applied in name order, each once. Released migrations are never edited: add a new one. */
const steps: Record<string, Up> = {
  '0001-tenancy': tenancy.up,
  '0002-billing': billing.up,
  '0003-request-events': requestEvents.up,
  '0004-containers': containers.up,
  '0005-responses': responses.up,
  '0006-internal-org': internalOrg.up,
};

/** The migrations with the engine's column types bound in. */
export function migrationsFor(profile: DialectProfile): Record<string, Migration> {
  return Object.fromEntries(
    Object.entries(steps).map(([name, up]) => [name, { up: (db: Kysely<unknown>) => up(db, profile) }]),
  );
}
