import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '#src/store/repositories.js';
import type { TestGateway } from '../../support/gateway.js';
import { call, createTenant, errorOf, startPlatformGateway, type Tenant } from './platform-fixture.js';

let gateway: TestGateway;
let tenant: Tenant;
let isDown = false;

/** Every platform read and write fails while `isDown`; keys and telemetry keep working. */
function failing<T extends object>(repository: T): T {
  return new Proxy(repository, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== 'function' || property === 'insertMany') return value;
      return (...args: unknown[]) => {
        if (isDown) return Promise.reject(new Error('database is down'));
        return value.apply(target, args);
      };
    },
  });
}

beforeAll(async () => {
  ({ gateway } = await startPlatformGateway({
    wrapStore: (store: Store) => ({
      ...store,
      containers: failing(store.containers),
      requestEvents: failing(store.requestEvents),
      registeredCompletions: failing(store.registeredCompletions),
    }),
  }));
  tenant = await createTenant(gateway, 'storage-org');
  expect((await call(gateway, tenant, 'POST', '/v1/containers', { label: 'kept' })).status).toBe(201);
  isDown = true;
});
afterAll(async () => {
  isDown = false;
  await gateway.close();
});

describe('platform endpoints with the store down', () => {
  it.each([
    ['GET', '/v1/chat/completions', undefined],
    ['GET', '/v1/chat/completions/chatcmpl-x', undefined],
    [
      'POST',
      '/v1/chat/completions/register',
      { container: 'kept', items: [{ input: { messages: [{ role: 'user', content: 'x' }] } }] },
    ],
    ['GET', '/v1/containers', undefined],
    ['POST', '/v1/containers', { label: 'new' }],
    ['GET', '/v1/containers/kept', undefined],
    ['PATCH', '/v1/containers/kept', { system_prompt: 'x' }],
    ['POST', '/v1/containers/kept/models', { models: ['local/echo'] }],
    ['DELETE', '/v1/containers/kept', undefined],
    ['GET', '/v1/traces', undefined],
    ['GET', '/v1/traces/t', undefined],
    ['GET', '/v1/usage', undefined],
  ])('%s %s answers 503 storage_unavailable', async (method, path, body) => {
    const reply = await call(gateway, tenant, method, path, body);
    expect(reply.status).toBe(503);
    expect(errorOf(reply)).toEqual({
      message: 'Storage is temporarily unavailable.',
      type: 'api_error',
      param: null,
      code: 'storage_unavailable',
    });
  });

  it('validates before touching the store', async () => {
    const reply = await call(gateway, tenant, 'GET', '/v1/chat/completions?limit=0');
    expect(reply.status).toBe(400);
  });
});
