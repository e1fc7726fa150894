import { invalidValue } from '../errors/gateway-error.js';
import { type ModelCatalog, type PublicModel, toPublicModel } from '../routing/model-catalog.js';

export interface ModelList {
  object: 'list';
  data: PublicModel[];
  total?: number;
}

function integerParameter(
  value: string | undefined,
  name: string,
  min: number,
  max: number,
): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!/^\d+$/.test(value) || parsed < min || parsed > max) {
    throw invalidValue(name, `must be an integer from ${min} to ${max}`);
  }
  return parsed;
}

/**
 * GET /v1/models (SPEC §5.1): enabled entries sorted by id; `limit`/`offset` add `total`;
 * `?container=` restricts the list to the models attached to that container (`containerModels`).
 */
export function listModels(
  catalog: ModelCatalog,
  query: { limit?: string; offset?: string },
  containerModels?: readonly string[],
): ModelList {
  const attached = containerModels ? new Set(containerModels.map((id) => catalog.find(id))) : undefined;
  const models = attached ? catalog.list().filter((model) => attached.has(model)) : catalog.list();
  const limit = integerParameter(query.limit, 'limit', 1, 1000);
  const offset = integerParameter(query.offset, 'offset', 0, Number.MAX_SAFE_INTEGER);
  if (limit === undefined && offset === undefined) return { object: 'list', data: models.map(toPublicModel) };
  const start = offset ?? 0;
  return {
    object: 'list',
    data: models.slice(start, start + (limit ?? 1000)).map(toPublicModel),
    total: models.length,
  };
}

/** GET /v1/models/{id}: the id is the rest of the path, percent-decoded, resolved by SPEC §5.2. */
export function retrieveModel(catalog: ModelCatalog, id: string): PublicModel {
  return toPublicModel(catalog.resolve(id, 'model'));
}
