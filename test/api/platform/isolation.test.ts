import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestGateway } from '../../support/gateway.js';
import {
  call,
  chat,
  createTenant,
  errorOf,
  type Json,
  startPlatformGateway,
  type Tenant,
} from './platform-fixture.js';

let gateway: TestGateway;
let owner: Tenant;
let other: Tenant;
let completionId: string;
let registeredId: string;
let containerId: string;

beforeAll(async () => {
  ({ gateway } = await startPlatformGateway());
  owner = await createTenant(gateway, 'owner-org');
  other = await createTenant(gateway, 'other-org');
  const container = await call(gateway, owner, 'POST', '/v1/containers', {
    label: 'private',
    initial_model: 'local/echo',
  });
  containerId = container.body.id;
  completionId = (await chat(gateway, owner, 'secret', { tags: ['t'], trace: { id: 'shared-trace-id' } })).id;
  const registered = await call(gateway, owner, 'POST', '/v1/chat/completions/register', {
    container: 'private',
    items: [
      {
        input: { messages: [{ role: 'user', content: 'x' }] },
        output: { choices: [{ message: { content: 'y' } }] },
      },
    ],
  });
  registeredId = registered.body.ids[0];
  await gateway.app.flushTelemetry();
});
afterAll(async () => gateway.close());

const asOther = (method: string, path: string, body?: unknown) => call(gateway, other, method, path, body);
const asOwner = (method: string, path: string, body?: unknown) => call(gateway, owner, method, path, body);
const empty = { object: 'list', data: [], total: 0 };

describe('organizations never see each other', () => {
  it('owner sees its own data (the control)', async () => {
    expect((await asOwner('GET', '/v1/chat/completions')).body.total).toBe(2);
    expect((await asOwner('GET', `/v1/chat/completions/${completionId}`)).status).toBe(200);
    expect((await asOwner('GET', '/v1/containers')).body.total).toBe(1);
    expect((await asOwner('GET', '/v1/traces')).body.total).toBe(1);
    expect((await asOwner('GET', '/v1/traces/shared-trace-id')).status).toBe(200);
    expect((await asOwner('GET', '/v1/usage')).body.total).toBe(1);
  });

  it('stored completions: empty list, 404 on retrieve', async () => {
    expect((await asOther('GET', '/v1/chat/completions')).body).toEqual(empty);
    expect((await asOther('GET', '/v1/chat/completions?tag=t&container=private')).body).toEqual(empty);
    for (const id of [completionId, registeredId]) {
      const reply = await asOther('GET', `/v1/chat/completions/${id}`);
      expect(reply.status).toBe(404);
      expect(errorOf(reply).code).toBe('completion_not_found');
    }
  });

  it('containers: empty list, 400 on ?label=, 404 on every path, register refused', async () => {
    expect((await asOther('GET', '/v1/containers')).body).toEqual(empty);
    expect(errorOf(await asOther('GET', '/v1/containers?label=private'))).toMatchObject({
      code: 'container_not_found',
      param: 'label',
    });
    for (const [method, path, body] of [
      ['GET', '/v1/containers/private', undefined],
      ['PATCH', '/v1/containers/private', { system_prompt: 'hijacked' }],
      ['POST', '/v1/containers/private/models', { models: ['local/tools'] }],
      ['DELETE', '/v1/containers/private', undefined],
    ] as const) {
      const reply = await asOther(method, path, body);
      expect(reply.status, `${method} ${path}`).toBe(404);
      expect(errorOf(reply).code).toBe('container_not_found');
    }
    const register = await asOther('POST', '/v1/chat/completions/register', {
      container: 'private',
      items: [{ input: { messages: [{ role: 'user', content: 'x' }] } }],
    });
    expect(register.status).toBe(400);
    expect(errorOf(register)).toMatchObject({ code: 'container_not_found', param: 'container' });
  });

  it('the same label in another organization is a different container', async () => {
    const created = await asOther('POST', '/v1/containers', {
      label: 'private',
      initial_model: 'local/tools',
    });
    expect(created.status).toBe(201);
    expect(created.body.id).not.toBe(containerId);
    const mine = await asOwner('GET', '/v1/containers/private');
    expect(mine.body).toMatchObject({
      id: containerId,
      model: 'local/echo',
      models: ['local/echo'],
      system_prompt: null,
    });
    expect((await asOther('DELETE', '/v1/containers/private')).status).toBe(200);
    expect((await asOwner('GET', '/v1/containers/private')).status).toBe(200);
  });

  it('traces: empty list, 404 for a trace id the owner uses', async () => {
    expect((await asOther('GET', '/v1/traces')).body).toEqual(empty);
    const reply = await asOther('GET', '/v1/traces/shared-trace-id');
    expect(reply.status).toBe(404);
    expect(errorOf(reply).code).toBe('trace_not_found');
  });

  it('usage: no rows for the other organization', async () => {
    const reply = await asOther('GET', '/v1/usage?group_by=key');
    const keys = (reply.body.data as Json[]).map((row) => row.key_id);
    expect(keys).not.toContain(owner.keyId);
    expect(reply.body.data.reduce((sum: number, row: Json) => sum + row.requests, 0)).toBe(0);
  });

  it('the internal key without attribution sees none of it', async () => {
    expect((await call(gateway, undefined, 'GET', '/v1/chat/completions')).body.data).not.toContainEqual(
      expect.objectContaining({ id: completionId }),
    );
    expect((await call(gateway, undefined, 'GET', `/v1/chat/completions/${completionId}`)).status).toBe(404);
    expect((await call(gateway, undefined, 'GET', '/v1/traces/shared-trace-id')).status).toBe(404);
  });
});
