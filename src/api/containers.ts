/**
 * Containers (SPEC §11.2): named, project-scoped routes binding a model and a system prompt. Routing
 * `maniac:<label>` requests is the chat pipeline's job; these handlers are the CRUD behind it.
 */
import type { Clock } from '../clock.js';
import { GatewayError, invalidValue, missingParameter } from '../errors/gateway-error.js';
import type { ModelCatalog } from '../routing/model-catalog.js';
import type { ContainerRecord, ContainerUpdate, Store } from '../store/repositories.js';
import {
  bodyObject,
  fromStore,
  type ListEnvelope,
  nullableString,
  optionalString,
  pageOf,
  type QueryParameters,
  requiredString,
  singleParameter,
  stringArray,
  unixSeconds,
} from './platform-schemas.js';

export const containerLabelPattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** The wire object of SPEC §11.2. */
export interface Container {
  id: string;
  object: 'container';
  label: string;
  model: string;
  initial_model: string;
  deployed_model: string | null;
  system_prompt: string | null;
  initial_system_prompt: string | null;
  models: string[];
  created_at: number;
  updated_at: number;
}

export interface DeletedContainer {
  id: string;
  object: 'container';
  deleted: true;
}

export interface ContainersDeps {
  store: Pick<Store, 'containers'>;
  catalog: Pick<ModelCatalog, 'find'>;
  clock: Clock;
  /** `initial_model` when the request names none (`containers.defaultModel`). */
  defaultModel: string;
  /** Called after a container changed or was deleted, so routing caches can drop it at once. */
  onContainerChanged?(projectId: string, label: string): void;
}

export function toContainer(record: ContainerRecord): Container {
  return {
    id: record.id,
    object: 'container',
    label: record.label,
    model: record.model,
    initial_model: record.initialModel,
    deployed_model: record.deployedModel,
    system_prompt: record.systemPrompt,
    initial_system_prompt: record.initialSystemPrompt,
    models: record.models,
    created_at: unixSeconds(record.createdAt),
    updated_at: unixSeconds(record.updatedAt),
  };
}

function pathNotFound(label: string): GatewayError {
  return new GatewayError('container_path_not_found', { id: label });
}

/** A catalog id for `name` (aliases and bare names resolve to the canonical id), else 400 on `param`. */
function catalogId(catalog: ContainersDeps['catalog'], name: string, param: string): string {
  const model = catalog.find(name);
  if (!model) throw invalidValue(param, `unknown model '${name}'`);
  return model.id;
}

function modelList(
  deps: ContainersDeps,
  body: Record<string, unknown>,
  isRequired: boolean,
): string[] | undefined {
  const models = stringArray(body, 'models');
  if (models === undefined) {
    if (isRequired) throw missingParameter('models');
    return undefined;
  }
  if (isRequired && models.length === 0) throw invalidValue('models', 'must list at least one model');
  return models.map((name) => catalogId(deps.catalog, name, 'models'));
}

/**
 * POST /v1/containers: get-or-create by label. An existing label answers 200 with the container as
 * it is, whatever else the body says; otherwise `initial_model` must be a catalog id and the answer
 * is 201.
 */
export async function createContainer(
  deps: ContainersDeps,
  projectId: string,
  rawBody: unknown,
): Promise<{ status: 200 | 201; container: Container }> {
  const body = bodyObject(rawBody);
  const label = requiredString(body, 'label');
  if (!containerLabelPattern.test(label)) {
    throw invalidValue('label', `must match ${containerLabelPattern.source}`);
  }
  const requestedModel = optionalString(body, 'initial_model');
  const initialSystemPrompt = nullableString(body, 'initial_system_prompt') ?? null;
  const existing = await fromStore(() => deps.store.containers.get(projectId, label));
  if (existing) return { status: 200, container: toContainer(existing) };
  const initialModel =
    requestedModel === undefined
      ? (deps.catalog.find(deps.defaultModel)?.id ?? deps.defaultModel)
      : catalogId(deps.catalog, requestedModel, 'initial_model');
  const { container, created } = await fromStore(() =>
    deps.store.containers.getOrCreate({
      projectId,
      label,
      initialModel,
      initialSystemPrompt,
      now: deps.clock.now(),
    }),
  );
  if (created) deps.onContainerChanged?.(projectId, label);
  return { status: created ? 201 : 200, container: toContainer(container) };
}

/**
 * GET /v1/containers: newest first, paged; `?label=x` answers that one container, or 400
 * `container_not_found` (a label in a query is a reference, SPEC §14 row 21).
 */
export async function listContainers(
  deps: Pick<ContainersDeps, 'store'>,
  projectId: string,
  query: QueryParameters,
): Promise<ListEnvelope<Container> | Container> {
  const label = singleParameter(query, 'label');
  if (label !== undefined) {
    const record = await fromStore(() => deps.store.containers.get(projectId, label));
    if (!record) throw new GatewayError('container_not_found', { label }, { param: 'label' });
    return toContainer(record);
  }
  const page = pageOf(query);
  const { data, total } = await fromStore(() => deps.store.containers.list(projectId, page));
  return { object: 'list', data: data.map(toContainer), total };
}

/** GET /v1/containers/{label}. */
export async function retrieveContainer(
  deps: Pick<ContainersDeps, 'store'>,
  projectId: string,
  label: string,
): Promise<Container> {
  const record = await fromStore(() => deps.store.containers.get(projectId, label));
  if (!record) throw pathNotFound(label);
  return toContainer(record);
}

/**
 * PATCH /v1/containers/{label}: `model` deploys (sets `deployed_model` and `model`, joins `models`),
 * `system_prompt` replaces the prompt (`null` clears it), `models` replaces the list (the current
 * model always stays). Unknown model ids are 400 `invalid_value` on `model` / `models`.
 */
export async function updateContainer(
  deps: ContainersDeps,
  projectId: string,
  label: string,
  rawBody: unknown,
): Promise<Container> {
  const body = bodyObject(rawBody);
  const update: ContainerUpdate = {};
  const model = optionalString(body, 'model');
  if (model !== undefined) update.model = catalogId(deps.catalog, model, 'model');
  const systemPrompt = nullableString(body, 'system_prompt');
  if (systemPrompt !== undefined) update.systemPrompt = systemPrompt;
  const models = modelList(deps, body, false);
  if (models !== undefined) update.models = models;
  const record = await fromStore(() =>
    deps.store.containers.update(projectId, label, update, deps.clock.now()),
  );
  if (!record) throw pathNotFound(label);
  deps.onContainerChanged?.(projectId, label);
  return toContainer(record);
}

/** POST /v1/containers/{label}/models: appends catalog ids not yet attached, in order. */
export async function attachContainerModels(
  deps: ContainersDeps,
  projectId: string,
  label: string,
  rawBody: unknown,
): Promise<Container> {
  const models = modelList(deps, bodyObject(rawBody), true) as string[];
  const record = await fromStore(() =>
    deps.store.containers.attachModels(projectId, label, models, deps.clock.now()),
  );
  if (!record) throw pathNotFound(label);
  deps.onContainerChanged?.(projectId, label);
  return toContainer(record);
}

/** DELETE /v1/containers/{label}: the container and its registered completions. */
export async function deleteContainer(
  deps: Pick<ContainersDeps, 'store' | 'onContainerChanged'>,
  projectId: string,
  label: string,
): Promise<DeletedContainer> {
  const deleted = await fromStore(() => deps.store.containers.delete(projectId, label));
  if (!deleted) throw pathNotFound(label);
  deps.onContainerChanged?.(projectId, label);
  return { id: deleted.id, object: 'container', deleted: true };
}
