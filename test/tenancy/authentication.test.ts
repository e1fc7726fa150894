import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '#src/store/repositories.js';
import { internalKey, startTestGateway, type TestGateway } from '../support/gateway.js';
import { assertOpenAiSchema } from '../support/openai-schema.js';
import { createTenant } from '../support/tenants.js';

let gateway: TestGateway;
let isStoreDown = false;

beforeAll(async () => {
  gateway = await startTestGateway({
    env: { MANIAC_ADMIN_TOKEN: 'admin-token-never-logged-0123456789' },
    wrapStore: (store: Store): Store => ({
      ...store,
      apiKeys: {
        ...store.apiKeys,
        findByHash: (hash) =>
          isStoreDown ? Promise.reject(new Error('store unreachable')) : store.apiKeys.findByHash(hash),
      },
    }),
  });
});
afterAll(async () => gateway.close());

const body = JSON.stringify({ model: 'local/echo', messages: [{ role: 'user', content: 'hi' }] });

async function call(headers: Record<string, string>) {
  const response = await fetch(`${gateway.url}/v1/chat/completions`, { method: 'POST', headers, body });
  const json = (await response.json()) as Record<string, unknown>;
  if (response.status >= 400) assertOpenAiSchema('ErrorResponse', json);
  return { status: response.status, headers: response.headers, body: json };
}

describe('authentication with stored keys (SPEC §6)', () => {
  it('serves a valid key and attributes the request to its organization', async () => {
    const tenant = await createTenant(gateway.app.store);
    const response = await call(tenant.headers);
    expect(response.status).toBe(200);
    const finished = gateway.finished.at(-1);
    expect(finished?.principal).toMatchObject({
      orgId: tenant.orgId,
      projectId: tenant.projectId,
      keyId: tenant.keyId,
    });
  });

  it('refuses missing, unknown, revoked and expired keys with 401 and WWW-Authenticate', async () => {
    const missing = await call({ 'content-type': 'application/json' });
    expect([missing.status, missing.body]).toEqual([
      401,
      {
        error: {
          message: "Missing API key. Send it as 'Authorization: Bearer <key>'.",
          type: 'authentication_error',
          param: null,
          code: 'missing_api_key',
        },
      },
    ]);
    expect(missing.headers.get('www-authenticate')).toBe('Bearer');
    const unknown = await call({
      authorization: 'Bearer mk_live_00000000000000000000000000000000',
      'content-type': 'application/json',
    });
    expect(unknown.body).toMatchObject({
      error: { code: 'invalid_api_key', message: 'Invalid API key.', type: 'authentication_error' },
    });

    const revoked = await createTenant(gateway.app.store);
    expect((await call(revoked.headers)).status).toBe(200);
    await gateway.app.store.apiKeys.revoke(revoked.keyId);
    await gateway.app.auth.propagateRevocation(revoked.keyId);
    expect((await call(revoked.headers)).body).toMatchObject({ error: { code: 'invalid_api_key' } });

    const expired = await createTenant(gateway.app.store, { expiresAt: Date.now() - 1 });
    expect((await call(expired.headers)).status).toBe(401);
  });

  it('answers 403 for a key without organization and for a disabled organization', async () => {
    const { generateApiKey } = await import('#src/auth/api-key.js');
    const orphan = generateApiKey();
    await gateway.app.store.apiKeys.create({ name: 'orphan', hash: orphan.hash, prefix: orphan.prefix });
    const noOrg = await call({ authorization: `Bearer ${orphan.key}`, 'content-type': 'application/json' });
    expect([noOrg.status, noOrg.body]).toEqual([
      403,
      {
        error: {
          message: 'API key is not associated with an organization.',
          type: 'permission_error',
          param: null,
          code: 'no_organization',
        },
      },
    ]);
    const disabled = await createTenant(gateway.app.store);
    await gateway.app.store.organizations.setDisabled(disabled.orgId, true);
    gateway.app.auth.invalidate(disabled.orgId);
    expect((await call(disabled.headers)).body).toMatchObject({
      error: { code: 'organization_disabled', type: 'permission_error' },
    });
  });

  it('fails closed with 503 when the store is unreachable and the key is not cached', async () => {
    const cached = await createTenant(gateway.app.store);
    expect((await call(cached.headers)).status).toBe(200);
    const uncached = await createTenant(gateway.app.store);
    isStoreDown = true;
    try {
      const refused = await call(uncached.headers);
      expect([refused.status, refused.body]).toEqual([
        503,
        {
          error: {
            message: 'Authentication is temporarily unavailable.',
            type: 'api_error',
            param: null,
            code: 'auth_unavailable',
          },
        },
      ]);
      expect((await call(cached.headers)).status).toBe(200);
    } finally {
      isStoreDown = false;
    }
  });

  it('lets the internal key through without rate-limit headers, logged as internal', async () => {
    const response = await call({
      authorization: `Bearer ${internalKey}`,
      'content-type': 'application/json',
      'x-request-id': 'internal-call',
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-ratelimit-limit')).toBeNull();
    const line = gateway.logLines
      .map((text) => JSON.parse(text))
      .find((entry) => entry.request_id === 'internal-call');
    expect(line).toMatchObject({ key_id: 'internal', org_id: 'internal', status: 200 });
  });

  it('never writes a key, a provider key or the admin token to the log', async () => {
    const tenant = await createTenant(gateway.app.store);
    await call(tenant.headers);
    await call({
      authorization: 'Bearer mk_live_guessguessguessguessguessguessgu',
      'content-type': 'application/json',
    });
    const log = gateway.logLines.join('\n');
    for (const secret of [
      tenant.key,
      internalKey,
      'mk_live_guessguessguessguessguessguessgu',
      'local-provider-secret-key',
      'sk-openai-provider-secret',
      'admin-token-never-logged-0123456789',
    ]) {
      expect(log).not.toContain(secret);
    }
    const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
    expect(metrics).not.toContain(tenant.key);
  });
});
