import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance, type InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashApiKey } from '#src/auth/api-key.js';
import { GatewayError } from '#src/errors/gateway-error.js';
import { type AdminRouteDeps, registerAdminRoutes } from '#src/http/admin-routes.js';
import { toGatewayError } from '#src/http/error-reply.js';
import { createStore } from '#src/store/create-store.js';
import type { Store } from '#src/store/repositories.js';

const adminToken = 'admin-token-0123456789abcdef';
let directory: string;
let store: Store;

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'mgw-admin-http-'));
  store = await createStore(`sqlite:${join(directory, 'db.sqlite')}`);
});
afterAll(async () => {
  await store.close();
  rmSync(directory, { recursive: true, force: true });
});

/** The server's error rendering and 404 in miniature, plus one unrelated route outside the plugin. */
async function buildServer(deps: Partial<AdminRouteDeps> = {}) {
  const revoked: string[] = [];
  const billingChanged: string[] = [];
  const app: FastifyInstance = Fastify();
  app.setErrorHandler((error, _request, reply) => {
    const { error: gatewayError } = toGatewayError(error, 1024 * 1024);
    if (gatewayError.status === 401) reply.header('www-authenticate', 'Bearer');
    reply.code(gatewayError.status).send(gatewayError.toEnvelope());
  });
  app.setNotFoundHandler((request) => {
    throw new GatewayError('unknown_route', { method: request.method, path: request.url });
  });
  app.get('/v1/ping', async () => ({ ok: true }));
  await app.register(registerAdminRoutes, {
    adminToken,
    store,
    revoke: async (id: string) => {
      revoked.push(id);
    },
    onBillingChanged: (orgId: string) => billingChanged.push(orgId),
    ...deps,
  });
  await app.ready();
  return { app, revoked, billingChanged };
}

const auth = { authorization: `Bearer ${adminToken}` };

async function call(app: FastifyInstance, options: InjectOptions) {
  const response = await app.inject({ ...options, headers: { ...auth, ...options.headers } });
  return { status: response.statusCode, headers: response.headers, body: response.json() };
}

describe('admin routes without a configured token', () => {
  it('do not exist: every /admin path is 404, even with a bearer token', async () => {
    for (const adminTokenValue of [undefined, '']) {
      const { app } = await buildServer({ adminToken: adminTokenValue });
      for (const [method, url] of [
        ['GET', '/admin/v1/organizations'],
        ['POST', '/admin/v1/keys'],
        ['GET', '/admin'],
      ] as const) {
        const response = await call(app, { method, url, payload: method === 'POST' ? {} : undefined });
        expect(response.status, `${method} ${url}`).toBe(404);
        expect(response.body.error).toMatchObject({ type: 'not_found_error', code: 'unknown_route' });
      }
      expect((await app.inject({ url: '/v1/ping' })).statusCode).toBe(200);
      await app.close();
    }
  });
});

describe('admin routes with a token', () => {
  let server: Awaited<ReturnType<typeof buildServer>>;
  beforeAll(async () => {
    server = await buildServer();
  });
  afterAll(async () => server.app.close());

  it('answer 401 without the token or with a wrong one, and guard nothing outside /admin', async () => {
    const { app } = server;
    const cases: [Record<string, string>, string][] = [
      [{}, 'missing_api_key'],
      [{ authorization: `Basic ${adminToken}` }, 'missing_api_key'],
      [{ authorization: 'Bearer ' }, 'missing_api_key'],
      [{ authorization: 'Bearer wrong' }, 'invalid_api_key'],
      [{ authorization: `Bearer ${adminToken}x` }, 'invalid_api_key'],
      [{ authorization: `Bearer ${adminToken.toUpperCase()}` }, 'invalid_api_key'],
    ];
    for (const [headers, code] of cases) {
      for (const url of ['/admin/v1/organizations', '/admin/v1/nothing-here']) {
        const response = await app.inject({ url, headers });
        expect(response.statusCode, `${JSON.stringify(headers)} ${url}`).toBe(401);
        expect(response.headers['www-authenticate']).toBe('Bearer');
        expect(response.json()).toEqual({
          error: { message: expect.any(String), type: 'authentication_error', param: null, code },
        });
      }
    }
    const scheme = await app.inject({
      url: '/admin/v1/organizations',
      headers: { authorization: `bearer ${adminToken}` },
    });
    expect(scheme.statusCode).toBe(200);
    expect((await app.inject({ url: '/v1/ping' })).statusCode).toBe(200);
  });

  it('run the whole flow: organization, key shown once, list, revoke', async () => {
    const { app, revoked } = server;
    const org = await call(app, {
      method: 'POST',
      url: '/admin/v1/organizations',
      payload: { name: 'initech' },
    });
    expect(org.status).toBe(201);
    expect(org.headers['cache-control']).toBe('no-store');
    expect(org.body).toMatchObject({ object: 'organization', name: 'initech', disabled: false });
    const orgId = org.body.id as string;
    expect((await call(app, { url: '/admin/v1/organizations/initech' })).body.id).toBe(orgId);
    expect(
      (await call(app, { url: '/admin/v1/organizations' })).body.data.map((item: { id: string }) => item.id),
    ).toContain(orgId);

    const project = await call(app, {
      method: 'POST',
      url: `/admin/v1/organizations/${orgId}/projects`,
      payload: { name: 'search' },
    });
    expect(project.status).toBe(201);
    const projects = await call(app, { url: `/admin/v1/organizations/${orgId}/projects` });
    expect(projects.body.data.map((item: { name: string }) => item.name)).toEqual(['default', 'search']);

    const created = await call(app, {
      method: 'POST',
      url: '/admin/v1/keys',
      payload: { org: 'initech', name: 'backend', expires_at: '2099-01-01T00:00:00Z', rate_limit: 10 },
    });
    expect(created.status).toBe(201);
    const { key, id } = created.body as { key: string; id: string };
    expect(key).toMatch(/^mk_live_[0-9A-Za-z]{32}$/);
    expect(created.body).toMatchObject({
      org_id: orgId,
      status: 'active',
      expires_at: 4070908800,
      rate_limit: 10,
    });
    expect((await store.apiKeys.findByHash(hashApiKey(key)))?.id).toBe(id);

    const listed = await app.inject({ url: `/admin/v1/keys?org=${orgId}`, headers: auth });
    expect(listed.json().data.map((item: { id: string }) => item.id)).toEqual([id]);
    expect(listed.body).not.toContain(key);
    expect(listed.body).not.toContain(hashApiKey(key));

    const revokedKey = await call(app, { method: 'POST', url: `/admin/v1/keys/${id}/revoke` });
    expect(revokedKey.status).toBe(200);
    expect(revokedKey.body).toMatchObject({ id, status: 'revoked' });
    expect(revokedKey.body).not.toHaveProperty('key');
    expect(revoked).toEqual([id]);
    expect((await store.apiKeys.findById(id))?.revokedAt).not.toBeNull();

    const second = await call(app, { method: 'POST', url: '/admin/v1/keys', payload: { org: orgId } });
    expect(
      (await call(app, { method: 'POST', url: `/admin/v1/keys/${second.body.id}/disable` })).body.status,
    ).toBe('disabled');
    const disabled = await call(app, { method: 'POST', url: '/admin/v1/organizations/initech/disable' });
    expect(disabled.body).toMatchObject({ id: orgId, disabled: true });
    expect(
      (await call(app, { method: 'POST', url: `/admin/v1/organizations/${orgId}/enable` })).body.disabled,
    ).toBe(false);
    expect(revoked).toEqual([id, second.body.id, orgId, orgId]);
  });

  it('add credits and report the balance in USD', async () => {
    const { app, billingChanged } = server;
    const org = await call(app, {
      method: 'POST',
      url: '/admin/v1/organizations',
      payload: { name: 'hooli' },
    });
    billingChanged.length = 0;
    const url = `/admin/v1/organizations/${org.body.id}`;
    expect((await call(app, { url: `${url}/balance` })).body).toMatchObject({
      configured: false,
      balance_usd: 0,
    });
    const credit = await call(app, {
      method: 'POST',
      url: `${url}/credits`,
      payload: { amount_usd: 25.123456 },
    });
    expect(credit.status).toBe(200);
    expect(credit.body).toMatchObject({ object: 'balance', amount_usd: 25.123456, balance_usd: 25.123456 });
    // The gateway's in-memory ledger reads the new balance before the next reservation.
    expect(billingChanged).toEqual([org.body.id]);
    expect((await call(app, { url: '/admin/v1/organizations/hooli/balance' })).body).toEqual({
      object: 'balance',
      org_id: org.body.id,
      configured: true,
      balance_usd: 25.123456,
      reserved_usd: 0,
      available_usd: 25.123456,
    });
    const bad = await call(app, { method: 'POST', url: `${url}/credits`, payload: { amount_usd: '25' } });
    expect(bad.status).toBe(400);
    expect(bad.body).toEqual({
      error: {
        message: "Invalid type for 'amount_usd': expected number.",
        type: 'invalid_request_error',
        param: 'amount_usd',
        code: 'invalid_type',
      },
    });
  });

  it('set and list budgets', async () => {
    const { app, billingChanged } = server;
    const org = await call(app, {
      method: 'POST',
      url: '/admin/v1/organizations',
      payload: { name: 'vandelay' },
    });
    billingChanged.length = 0;
    const budget = await call(app, {
      method: 'PUT',
      url: '/admin/v1/budgets',
      payload: { scope: 'org', id: 'vandelay', period: 'month', limit_usd: 100 },
    });
    expect(budget.status).toBe(200);
    expect(budget.body).toMatchObject({
      object: 'budget',
      scope_id: org.body.id,
      limit_usd: 100,
      spent_usd: 0,
    });
    expect(billingChanged).toEqual([org.body.id]);
    const listed = await call(app, { url: '/admin/v1/budgets?org=vandelay' });
    expect(listed.body.data).toEqual([budget.body]);
    const bad = await call(app, {
      method: 'PUT',
      url: '/admin/v1/budgets',
      payload: { scope: 'org', id: org.body.id, period: 'week', limit_usd: 1 },
    });
    expect(bad.body.error).toMatchObject({ code: 'invalid_value', param: 'period' });
  });

  it('answer 404 for unknown ids and routes, 400 for malformed input', async () => {
    const { app, revoked } = server;
    const before = revoked.length;
    for (const [method, url] of [
      ['GET', '/admin/v1/organizations/nobody'],
      ['POST', '/admin/v1/organizations/nobody/disable'],
      ['GET', '/admin/v1/organizations/nobody/balance'],
      ['POST', '/admin/v1/keys/key_nothing/revoke'],
      ['DELETE', '/admin/v1/organizations'],
      ['GET', '/admin/v1/unknown'],
    ] as const) {
      const response = await call(app, { method, url });
      expect(response.status, `${method} ${url}`).toBe(404);
      expect(response.body.error.type).toBe('not_found_error');
    }
    expect(revoked).toHaveLength(before);
    const noOrg = await call(app, { method: 'POST', url: '/admin/v1/keys', payload: { org: 'nobody' } });
    expect(noOrg.status).toBe(404);
    const badJson = await app.inject({
      method: 'POST',
      url: '/admin/v1/organizations',
      headers: { ...auth, 'content-type': 'application/json' },
      payload: '{"name":',
    });
    expect(badJson.statusCode).toBe(400);
    expect(badJson.json().error.code).toBe('invalid_json');
    const missing = await call(app, { method: 'POST', url: '/admin/v1/keys', payload: { name: 'x' } });
    expect(missing.body.error).toMatchObject({ code: 'missing_required_parameter', param: 'org' });
    const repeated = await call(app, { url: '/admin/v1/keys?org=a&org=b' });
    expect(repeated.body.error).toMatchObject({ code: 'invalid_type', param: 'org' });
  });
});
