import { generateApiKey } from '#src/auth/api-key.js';
import type { Clock } from '#src/clock.js';
import { startTestGateway, type TestGateway, type TestGatewayOptions } from '../../support/gateway.js';

/** A wall clock the test sets; monotonic time stays real so latencies and timers behave. */
export interface SteeredClock extends Clock {
  set(ms: number): void;
}

export function steeredClock(startMs: number): SteeredClock {
  let current = startMs;
  return {
    now: () => current,
    monotonic: () => performance.now(),
    set(ms) {
      current = ms;
    },
  };
}

/** An organization with its `default` project and one API key. */
export interface Tenant {
  orgId: string;
  projectId: string;
  keyId: string;
  key: string;
}

export async function createTenant(gateway: TestGateway, name: string): Promise<Tenant> {
  const store = gateway.app.store;
  const { organization, defaultProject } = await store.organizations.create({ name });
  const tenant = await addKey(gateway, organization.id, `${name}-key`);
  return { ...tenant, orgId: organization.id, projectId: defaultProject.id };
}

/** Another key of the same organization (its default project). */
export async function addKey(gateway: TestGateway, orgId: string, name: string): Promise<Tenant> {
  const { key, hash, prefix } = generateApiKey();
  const record = await gateway.app.store.apiKeys.create({ orgId, name, hash, prefix });
  return { orgId, projectId: record.projectId as string, keyId: record.id, key };
}

export interface Reply<T = Record<string, unknown>> {
  status: number;
  body: T;
}

// biome-ignore lint/suspicious/noExplicitAny: test bodies are read by path, asserting their shape.
export type Json = any;

/** One call with a tenant's key (or the internal key); JSON in and out. */
export async function call<T = Json>(
  gateway: TestGateway,
  tenant: Tenant | undefined,
  method: string,
  path: string,
  body?: unknown,
): Promise<Reply<T>> {
  const headers: Record<string, string> = tenant
    ? { authorization: `Bearer ${tenant.key}` }
    : { authorization: gateway.headers.authorization as string };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${gateway.url}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T };
}

/** A chat completion through the gateway with `local/echo`; asserts it succeeded. */
export async function chat(
  gateway: TestGateway,
  tenant: Tenant,
  content: string,
  extra: Record<string, unknown> = {},
): Promise<Json> {
  const reply = await call(gateway, tenant, 'POST', '/v1/chat/completions', {
    model: 'local/echo',
    messages: [{ role: 'user', content }],
    ...extra,
  });
  if (reply.status !== 200) throw new Error(`chat failed: ${reply.status} ${JSON.stringify(reply.body)}`);
  return reply.body;
}

/** The envelope of an error reply, for exact assertions. */
export function errorOf(reply: Reply): { message: string; type: string; param: string | null; code: string } {
  return (reply.body as { error: ReturnType<typeof errorOf> }).error;
}

export async function startPlatformGateway(
  options: TestGatewayOptions & { startMs?: number } = {},
): Promise<{ gateway: TestGateway; clock: SteeredClock }> {
  const clock = steeredClock(options.startMs ?? Date.UTC(2025, 0, 15, 12, 0, 0));
  const gateway = await startTestGateway({ clock, ...options });
  return { gateway, clock };
}

export const day = 86_400_000;
