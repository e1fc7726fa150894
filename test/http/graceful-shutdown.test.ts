import { describe, expect, it } from 'vitest';
import { createStore } from '#src/store/create-store.js';
import { parseSse, startTestGateway } from '../support/gateway.js';
import { createTenant } from '../support/tenants.js';

const head = { id: 'x', object: 'chat.completion.chunk', created: 1, model: 'controlled' };
const chunk = (content: string, finish: string | null = null) =>
  JSON.stringify({ ...head, choices: [{ index: 0, delta: { content }, finish_reason: finish }] });

async function openControlledStream(
  gateway: Awaited<ReturnType<typeof startTestGateway>>,
  headers: Record<string, string>,
) {
  const controlledNext = gateway.fake.nextControlled();
  const responding = fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers,
    body: JSON.stringify({
      model: 'local/controlled',
      stream: true,
      messages: [{ role: 'user', content: 'hi' }],
    }),
  });
  const controlled = await controlledNext;
  controlled.send(chunk('first'));
  const response = await responding;
  return { controlled, response };
}

async function countEvents(databaseUrl: string, projectId: string): Promise<number> {
  const store = await createStore(databaseUrl);
  try {
    const usage = await store.requestEvents.usage({
      projectId,
      groupBy: 'model',
      from: 0,
      to: Date.now() + 60_000,
    } as never);
    return usage.reduce((sum, row) => sum + row.requests, 0);
  } finally {
    await store.close();
  }
}

describe('graceful shutdown (SPEC §13.5)', () => {
  it('lets an in-flight stream finish within the drain deadline and writes its event', async () => {
    const gateway = await startTestGateway({
      file: { shutdown: { drainTimeoutMs: 10_000 }, providers: { local: localProvider() } },
    });
    const tenant = await createTenant(gateway.app.store);
    const { controlled, response } = await openControlledStream(gateway, tenant.headers);
    const closing = gateway.app.close();
    // The stream keeps flowing while the gateway drains.
    controlled.send(chunk(' second', 'stop'));
    controlled.end();
    const { data } = parseSse(await response.text());
    expect(data.at(-1)).toBe('[DONE]');
    expect(
      data
        .map((item) => (item === '[DONE]' ? '' : (JSON.parse(item).choices[0]?.delta.content ?? '')))
        .join(''),
    ).toBe('first second');
    await closing;
    expect(await countEvents(gateway.config.storage.databaseUrl, tenant.projectId)).toBe(1);
    await gateway.fake.close();
  });

  it('ends a stream still open at the deadline with the in-band shutting_down error and aborts the upstream', async () => {
    const gateway = await startTestGateway({
      file: { shutdown: { drainTimeoutMs: 100 }, providers: { local: localProvider() } },
    });
    const tenant = await createTenant(gateway.app.store);
    const { response } = await openControlledStream(gateway, tenant.headers);
    const aborted = gateway.fake.nextAbort();
    await gateway.app.close();
    const { data } = parseSse(await response.text());
    expect(data.at(-1)).toBe('[DONE]');
    expect(JSON.parse(data.at(-2) as string)).toEqual({
      error: {
        message: 'The gateway is shutting down.',
        type: 'api_error',
        param: null,
        code: 'shutting_down',
      },
    });
    expect((await aborted).isAborted).toBe(true);
    expect(await countEvents(gateway.config.storage.databaseUrl, tenant.projectId)).toBe(1);
    await gateway.fake.close();
  });
});

function localProvider() {
  return {
    type: 'openai-compatible',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a config-file ${ENV} reference.
    baseUrl: '${FAKE_URL}',
    apiKeyEnv: 'LOCAL_KEY',
    models: ['controlled'],
  };
}
