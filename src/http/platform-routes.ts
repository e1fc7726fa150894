import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  listCompletions,
  type PendingGeneration,
  registerCompletions,
  retrieveCompletion,
} from '../api/completions.js';
import {
  attachContainerModels,
  type ContainersDeps,
  createContainer,
  deleteContainer,
  listContainers,
  retrieveContainer,
  updateContainer,
} from '../api/containers.js';
import type { QueryParameters } from '../api/platform-schemas.js';
import { listRequests, retrieveRequest } from '../api/requests.js';
import { listTraces, retrieveTrace } from '../api/traces.js';
import { usageSummary } from '../api/usage.js';
import type { Principal } from '../auth/principal.js';
import type { Clock } from '../clock.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { ModelCatalog } from '../routing/model-catalog.js';
import type { Store } from '../store/repositories.js';
import type { Logger } from '../telemetry/logger.js';

export interface PlatformDeps {
  store: Store;
  catalog: ModelCatalog;
  clock: Clock;
  containers: { defaultModel: string };
  /**
   * Writes queued request events before completions, traces and usage are read, so a client sees its
   * own finished requests (read-your-writes). A failure is logged and the read goes ahead.
   */
  flush?(): Promise<void>;
  /** Generates a registered item that came without `output` (see `PendingGeneration`). */
  generate?(item: PendingGeneration): void;
  /** A container was created, changed or deleted on this instance (drop routing caches). */
  onContainerChanged?(projectId: string, label: string): void;
  /** Store failures behind a 503 `storage_unavailable` are logged here with their cause. */
  logger?: Pick<Logger, 'warn'>;
}

/** SPEC §11.1: registrations may carry up to 5 000 items, so their body limit is 50 MiB. */
export const registerBodyLimitBytes = 50 * 1024 * 1024;

type Handler = (request: FastifyRequest, reply: FastifyReply, principal: Principal) => Promise<unknown>;

/**
 * The platform endpoints of SPEC §11, registered on a scope already prefixed with `/v1` or
 * `/api/v1`. Every route answers for the caller's project only (`request.principal`).
 */
export function registerPlatformRoutes(scope: FastifyInstance, deps: PlatformDeps): void {
  const { store, clock } = deps;
  const containerDeps: ContainersDeps = {
    store,
    catalog: deps.catalog,
    clock,
    defaultModel: deps.containers.defaultModel,
    ...(deps.onContainerChanged ? { onContainerChanged: deps.onContainerChanged } : {}),
  };

  const flushed = async () => {
    try {
      await deps.flush?.();
    } catch (error) {
      deps.logger?.warn({ error: String(error) }, 'telemetry flush before a platform read failed');
    }
  };

  /** Names the request event, then runs the handler for an authenticated caller. */
  const endpoint =
    (name: string, handler: Handler) =>
    async (request: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
      if (request.record) request.record.endpoint = name;
      const principal = request.principal;
      // The onRequest hook either sets the principal or answers with 401/403/503 before routing.
      if (!principal) throw new GatewayError('internal_error');
      try {
        return await handler(request, reply, principal);
      } catch (error) {
        if (error instanceof GatewayError && error.code === 'storage_unavailable') {
          deps.logger?.warn(
            { request_id: request.id, error: String(error.cause) },
            'platform store call failed',
          );
        }
        throw error;
      }
    };

  const queryOf = (request: FastifyRequest) => request.query as QueryParameters;
  const labelOf = (request: FastifyRequest) => (request.params as { label: string }).label;

  scope.get(
    '/chat/completions',
    endpoint('chat.completions.list', async (request, _reply, principal) => {
      await flushed();
      return listCompletions(store, principal.projectId, queryOf(request));
    }),
  );
  scope.post(
    '/chat/completions/register',
    { bodyLimit: registerBodyLimitBytes },
    endpoint('chat.completions.register', async (request, _reply, principal) =>
      registerCompletions(
        {
          store,
          catalog: deps.catalog,
          clock,
          ...(deps.generate ? { generate: deps.generate } : {}),
        },
        { orgId: principal.orgId, projectId: principal.projectId, keyId: principal.keyId },
        request.body,
      ),
    ),
  );
  scope.get(
    '/chat/completions/:id',
    endpoint('chat.completions.retrieve', async (request, _reply, principal) => {
      await flushed();
      return retrieveCompletion(store, principal.projectId, (request.params as { id: string }).id);
    }),
  );

  scope.get(
    '/containers',
    endpoint('containers.list', async (request, _reply, principal) =>
      listContainers(containerDeps, principal.projectId, queryOf(request)),
    ),
  );
  scope.post(
    '/containers',
    endpoint('containers.create', async (request, reply, principal) => {
      const { status, container } = await createContainer(containerDeps, principal.projectId, request.body);
      reply.code(status);
      return container;
    }),
  );
  scope.get(
    '/containers/:label',
    endpoint('containers.retrieve', async (request, _reply, principal) =>
      retrieveContainer(containerDeps, principal.projectId, labelOf(request)),
    ),
  );
  scope.patch(
    '/containers/:label',
    endpoint('containers.update', async (request, _reply, principal) =>
      updateContainer(containerDeps, principal.projectId, labelOf(request), request.body),
    ),
  );
  scope.delete(
    '/containers/:label',
    endpoint('containers.delete', async (request, _reply, principal) =>
      deleteContainer(containerDeps, principal.projectId, labelOf(request)),
    ),
  );
  scope.post(
    '/containers/:label/models',
    endpoint('containers.models.attach', async (request, _reply, principal) =>
      attachContainerModels(containerDeps, principal.projectId, labelOf(request), request.body),
    ),
  );

  scope.get(
    '/traces',
    endpoint('traces.list', async (request, _reply, principal) => {
      await flushed();
      return listTraces(store, principal.projectId, queryOf(request));
    }),
  );
  // A wildcard, not `:id`: trace ids are client strings and may contain `/` (percent-encoded or not).
  scope.get(
    '/traces/*',
    endpoint('traces.retrieve', async (request, _reply, principal) => {
      await flushed();
      const raw = (request.params as { '*': string })['*'];
      return retrieveTrace(store, principal.projectId, safeDecode(raw));
    }),
  );

  scope.get(
    '/requests',
    endpoint('requests.list', async (request, _reply, principal) => {
      await flushed();
      return listRequests(store, principal.projectId, queryOf(request));
    }),
  );
  scope.get(
    '/requests/:id',
    endpoint('requests.retrieve', async (request, _reply, principal) => {
      await flushed();
      return retrieveRequest(store, principal.projectId, (request.params as { id: string }).id);
    }),
  );

  scope.get(
    '/usage',
    endpoint('usage', async (request, _reply, principal) => {
      await flushed();
      return usageSummary(store, principal.projectId, queryOf(request), clock.now());
    }),
  );
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
