import { type Insertable, sql } from 'kysely';
import { chunkRows, fromJsonOrNull, toJson, toJsonOrNull, toText } from './json-column.js';
import type { RegisterCompletionInput, RegisteredCompletionRepository } from './repositories.js';
import { traceColumnsOf, usageColumnsOf } from './request-event-rows.js';
import type { RegisteredCompletionsTable } from './schema.js';
import type { StoreContext } from './store-context.js';

const pending = sql.lit<'pending'>('pending');

function toRow(item: RegisterCompletionInput): Insertable<RegisteredCompletionsTable> {
  return {
    id: item.id,
    org_id: item.orgId,
    project_id: item.projectId,
    container_id: item.containerId,
    container: item.container,
    ts: item.createdAt,
    status: item.status,
    model: toText(item.model),
    model_requested: toText(item.modelRequested),
    provider: toText(item.provider),
    ...usageColumnsOf(item.usage),
    cost_usd: item.costUsd ?? null,
    tags: toJson(item.tags ?? []),
    metadata: toJsonOrNull(item.metadata),
    ...traceColumnsOf(item.trace),
    request_body: toJsonOrNull(item.input),
    response_body: toJsonOrNull(item.output),
    error: null,
    updated_at: item.createdAt,
  };
}

export function createRegisteredCompletionRepository({
  db,
  profile,
  clock,
}: StoreContext): RegisteredCompletionRepository {
  return {
    async registerMany(items) {
      if (items.length === 0) return;
      const rows = items.map(toRow);
      await db.transaction().execute(async (trx) => {
        for (const chunk of chunkRows(rows, profile.maxParameters)) {
          await trx.insertInto('registered_completions').values(chunk).execute();
        }
      });
    },

    async complete(input) {
      const result = await db
        .updateTable('registered_completions')
        .set({
          status: input.status,
          ...(input.model === undefined ? {} : { model: input.model }),
          ...(input.provider === undefined ? {} : { provider: input.provider }),
          ...(input.usage === undefined ? {} : usageColumnsOf(input.usage)),
          ...(input.costUsd === undefined ? {} : { cost_usd: input.costUsd }),
          response_body: toJsonOrNull(input.output),
          error: toJsonOrNull(input.error),
          updated_at: clock.now(),
        })
        .where('project_id', '=', input.projectId)
        .where('id', '=', input.id)
        .where('status', '=', pending)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    async listPending(limit) {
      const rows = await db
        .selectFrom('registered_completions')
        .select(['id', 'org_id', 'project_id', 'container', 'model_requested', 'request_body'])
        .where('status', '=', pending)
        .orderBy('ts')
        .limit(limit)
        .execute();
      return rows.map((row) => ({
        id: row.id,
        orgId: row.org_id,
        projectId: row.project_id,
        container: row.container,
        modelRequested: row.model_requested,
        input: fromJsonOrNull(row.request_body),
      }));
    },
  };
}
