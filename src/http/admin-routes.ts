import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  type AdminContext,
  addCredits,
  createKey,
  createOrganization,
  createProject,
  disableKey,
  disableOrganization,
  enableOrganization,
  getBalance,
  getOrganization,
  listBudgets,
  listKeys,
  listOrganizations,
  listProjects,
  revokeKey,
  setBudget,
} from '../api/admin.js';
import { bearerToken, isSameSecret, sha256 } from '../auth/internal-key.js';
import type { Clock } from '../clock.js';
import { GatewayError } from '../errors/gateway-error.js';

export interface AdminRouteDeps {
  /** `auth.adminToken` / `MANIAC_ADMIN_TOKEN`; without one the admin API does not exist (404). */
  adminToken: string | undefined;
  store: AdminContext['store'];
  /** Key or organization id disabled/revoked: drop it from every instance's key cache. */
  revoke(id: string): Promise<void>;
  onBillingChanged?(orgId: string): void;
  heldMicros?(orgId: string): number;
  clock?: Clock;
}

const prefix = '/admin/v1';

function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

function unknownRoute(request: FastifyRequest): never {
  throw new GatewayError('unknown_route', { method: request.method, path: pathOf(request.url) });
}

const param = (request: FastifyRequest, name: string): string =>
  (request.params as Record<string, string>)[name] as string;

/**
 * The admin API under `/admin/v1` (docs/admin.md), guarded by a bearer admin token compared in
 * constant time (SHA-256 digests, `timingSafeEqual`). With no token configured, every `/admin` path
 * is an unknown route: an operator who never set one has no admin surface to attack (LESSONS #14).
 */
export async function registerAdminRoutes(app: FastifyInstance, deps: AdminRouteDeps): Promise<void> {
  const { adminToken } = deps;
  if (adminToken === undefined || adminToken.length === 0) {
    app.all('/admin', unknownRoute);
    app.all('/admin/*', unknownRoute);
    return;
  }
  const expectedDigest = sha256(adminToken);
  const context: AdminContext = {
    store: deps.store,
    revoke: deps.revoke,
    ...(deps.onBillingChanged === undefined ? {} : { onBillingChanged: deps.onBillingChanged }),
    ...(deps.heldMicros === undefined ? {} : { heldMicros: deps.heldMicros }),
    ...(deps.clock === undefined ? {} : { clock: deps.clock }),
  };

  // A child context, so the token hook guards these routes only, however this function is called.
  await app.register(async (scope) => {
    scope.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
      reply.header('cache-control', 'no-store');
      const token = bearerToken(request.headers.authorization);
      if (token === undefined) throw new GatewayError('missing_api_key');
      if (!isSameSecret(sha256(token), expectedDigest)) throw new GatewayError('invalid_api_key');
    });

    const created = <T>(reply: FastifyReply, result: T): T => {
      reply.code(201);
      return result;
    };

    scope.post(`${prefix}/organizations`, async (request, reply) =>
      created(reply, await createOrganization(context, request.body)),
    );
    scope.get(`${prefix}/organizations`, async () => listOrganizations(context));
    scope.get(`${prefix}/organizations/:org`, async (request) =>
      getOrganization(context, param(request, 'org')),
    );
    scope.post(`${prefix}/organizations/:org/disable`, async (request) =>
      disableOrganization(context, param(request, 'org')),
    );
    scope.post(`${prefix}/organizations/:org/enable`, async (request) =>
      enableOrganization(context, param(request, 'org')),
    );
    scope.post(`${prefix}/organizations/:org/projects`, async (request, reply) =>
      created(reply, await createProject(context, param(request, 'org'), request.body)),
    );
    scope.get(`${prefix}/organizations/:org/projects`, async (request) =>
      listProjects(context, param(request, 'org')),
    );
    scope.post(`${prefix}/organizations/:org/credits`, async (request) =>
      addCredits(context, param(request, 'org'), request.body),
    );
    scope.get(`${prefix}/organizations/:org/balance`, async (request) =>
      getBalance(context, param(request, 'org')),
    );
    scope.post(`${prefix}/keys`, async (request, reply) =>
      created(reply, await createKey(context, request.body)),
    );
    scope.get(`${prefix}/keys`, async (request) => listKeys(context, request.query));
    scope.post(`${prefix}/keys/:id/revoke`, async (request) => revokeKey(context, param(request, 'id')));
    scope.post(`${prefix}/keys/:id/disable`, async (request) => disableKey(context, param(request, 'id')));
    scope.put(`${prefix}/budgets`, async (request) => setBudget(context, request.body));
    scope.get(`${prefix}/budgets`, async (request) => listBudgets(context, request.query));
    // Unknown admin paths and methods answer 404 only to a caller holding the token.
    scope.all('/admin', unknownRoute);
    scope.all('/admin/*', unknownRoute);
  });
}
