import type { Selectable } from 'kysely';
import { fromJson, toJson } from './json-column.js';
import type { ContainerRecord, ContainerRepository } from './repositories.js';
import type { ContainersTable } from './schema.js';
import type { StoreContext } from './store-context.js';
import { newStoredId } from './store-ids.js';

function toContainerRecord(row: Selectable<ContainersTable>): ContainerRecord {
  return {
    id: row.id,
    projectId: row.project_id,
    label: row.label,
    model: row.deployed_model ?? row.initial_model,
    initialModel: row.initial_model,
    deployedModel: row.deployed_model,
    systemPrompt: row.system_prompt,
    initialSystemPrompt: row.initial_system_prompt,
    models: fromJson(row.models),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** `models` without duplicates, first occurrence kept, with `model` appended when missing. */
function modelsKeeping(models: readonly string[], model: string): string[] {
  const unique = [...new Set(models)];
  return unique.includes(model) ? unique : [...unique, model];
}

export function createContainerRepository({ db }: StoreContext): ContainerRepository {
  const find = (projectId: string, label: string) =>
    db
      .selectFrom('containers')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('label', '=', label)
      .executeTakeFirst();

  /** Read-modify-write of one container inside a write transaction. */
  const change = (
    projectId: string,
    label: string,
    now: number,
    next: (
      row: Selectable<ContainersTable>,
    ) => Pick<ContainersTable, 'deployed_model' | 'system_prompt' | 'models'>,
  ) =>
    db.transaction().execute(async (trx) => {
      const row = await trx
        .selectFrom('containers')
        .selectAll()
        .where('project_id', '=', projectId)
        .where('label', '=', label)
        .executeTakeFirst();
      if (row === undefined) return undefined;
      const changes = { ...next(row), updated_at: now };
      await trx.updateTable('containers').set(changes).where('id', '=', row.id).execute();
      return toContainerRecord({ ...row, ...changes });
    });

  return {
    async getOrCreate({ projectId, label, initialModel, initialSystemPrompt, now }) {
      const values = {
        id: newStoredId('ctr'),
        project_id: projectId,
        label,
        initial_model: initialModel,
        deployed_model: null,
        system_prompt: initialSystemPrompt,
        initial_system_prompt: initialSystemPrompt,
        models: toJson([initialModel]),
        created_at: now,
        updated_at: now,
      };
      // Insert-or-ignore on (project_id, label): two racing creators get one container, one 201.
      const result = await db
        .insertInto('containers')
        .values(values)
        .onConflict((conflict) => conflict.columns(['project_id', 'label']).doNothing())
        .executeTakeFirst();
      if (Number(result.numInsertedOrUpdatedRows ?? 0) > 0) {
        return { container: toContainerRecord(values), created: true };
      }
      const existing = await find(projectId, label);
      if (existing === undefined)
        throw new Error(`Container '${label}' vanished after a conflicting insert.`);
      return { container: toContainerRecord(existing), created: false };
    },

    async list(projectId, page = { limit: 100, offset: 0 }) {
      const [rows, count] = await Promise.all([
        db
          .selectFrom('containers')
          .selectAll()
          .where('project_id', '=', projectId)
          .orderBy('created_at', 'desc')
          .orderBy('id', 'desc')
          .limit(page.limit)
          .offset(page.offset)
          .execute(),
        db
          .selectFrom('containers')
          .select((eb) => eb.fn.countAll<number>().as('total'))
          .where('project_id', '=', projectId)
          .executeTakeFirstOrThrow(),
      ]);
      return { data: rows.map(toContainerRecord), total: Number(count.total) };
    },

    async get(projectId, label) {
      const row = await find(projectId, label);
      return row === undefined ? undefined : toContainerRecord(row);
    },

    update(projectId, label, update, now) {
      return change(projectId, label, now, (row) => {
        const deployed = update.model ?? row.deployed_model;
        const model = deployed ?? row.initial_model;
        const models = update.models ?? fromJson<string[]>(row.models);
        return {
          deployed_model: deployed,
          system_prompt: update.systemPrompt === undefined ? row.system_prompt : update.systemPrompt,
          models: toJson(modelsKeeping(models, model)),
        };
      });
    },

    attachModels(projectId, label, models, now) {
      return change(projectId, label, now, (row) => ({
        deployed_model: row.deployed_model,
        system_prompt: row.system_prompt,
        models: toJson([...new Set([...fromJson<string[]>(row.models), ...models])]),
      }));
    },

    async delete(projectId, label) {
      // Registered completions of the container go with it (foreign key, on delete cascade).
      const row = await db
        .deleteFrom('containers')
        .where('project_id', '=', projectId)
        .where('label', '=', label)
        .returning('id')
        .executeTakeFirst();
      return row === undefined ? undefined : { id: row.id };
    },
  };
}
