import { type Kysely, type SqlBool, sql } from 'kysely';
import type { RequestEvent } from '../telemetry/request-event.js';
import { sharedConditions } from './completion-queries.js';
import type { DialectProfile } from './dialect-profile.js';
import type { EventQuery, Page } from './repositories.js';
import { fromEventRow } from './request-event-rows.js';
import type { Database } from './schema.js';

function conditionsOf(
  query: Omit<EventQuery, 'limit' | 'offset'> & { id?: string },
  profile: DialectProfile,
) {
  const conditions = sharedConditions(query, profile, undefined);
  if (query.outcome === 'error') {
    conditions.push(sql<SqlBool>`(${sql.ref('status')} >= 400 or ${sql.ref('outcome')} = 'stream_error')`);
  } else if (query.outcome === 'success') {
    conditions.push(sql<SqlBool>`(${sql.ref('status')} < 400 and ${sql.ref('outcome')} <> 'stream_error')`);
  }
  return conditions;
}

/** The request log of one project, every outcome, newest first; bodies are not read. */
export async function listEvents(
  db: Kysely<Database>,
  profile: DialectProfile,
  query: EventQuery,
): Promise<Page<RequestEvent>> {
  const where = sql<SqlBool>`${sql.join(conditionsOf(query, profile), sql` and `)}`;
  const base = db.selectFrom('request_events').where(where);
  const [rows, count] = await Promise.all([
    base
      .selectAll()
      .orderBy('ts', 'desc')
      .orderBy('id', 'desc')
      .limit(query.limit)
      .offset(query.offset)
      .execute(),
    base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
  ]);
  return {
    data: rows.map((row) => ({ ...fromEventRow(row), request_body: null, response_body: null })),
    total: Number(count.n),
  };
}

export async function getEvent(
  db: Kysely<Database>,
  profile: DialectProfile,
  projectId: string,
  id: string,
): Promise<RequestEvent | undefined> {
  const row = await db
    .selectFrom('request_events')
    .selectAll()
    .where(sql<SqlBool>`${sql.join(conditionsOf({ projectId, id }, profile), sql` and `)}`)
    .executeTakeFirst();
  return row === undefined ? undefined : fromEventRow(row);
}
