import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportCompletions } from '#src/api/completions.js';
import { runPlatformCommand } from '#src/cli/platform-commands.js';
import type { CompletionFilters, StoredCompletionRecord } from '#src/store/repositories.js';
import type { TestGateway } from '../../support/gateway.js';
import { fakeUrl } from '../../support/gateway.js';
import {
  call,
  chat,
  createTenant,
  type Json,
  type SteeredClock,
  startPlatformGateway,
  type Tenant,
} from './platform-fixture.js';

let gateway: TestGateway;
let clock: SteeredClock;
let tenant: Tenant;
let stranger: Tenant;
const t0 = Date.UTC(2025, 5, 1, 12, 0, 0);
const dir = mkdtempSync(join(tmpdir(), 'maniac-export-'));

beforeAll(async () => {
  ({ gateway, clock } = await startPlatformGateway({
    startMs: t0,
    file: {
      providers: {
        local: {
          type: 'openai-compatible',
          baseUrl: fakeUrl,
          apiKeyEnv: 'LOCAL_KEY',
          models: ['echo', 'stall'],
        },
      },
    },
  }));
  tenant = await createTenant(gateway, 'export-org');
  stranger = await createTenant(gateway, 'stranger-org');
  clock.set(t0);
  await chat(gateway, tenant, 'hello', { tags: ['keep'] });
  clock.set(t0 + 1_000);
  await chat(gateway, tenant, 'hidden', { store: false });
  clock.set(t0 + 2_000);
  await chat(gateway, tenant, 'with tools', {
    messages: [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'with tools' },
    ],
    tools: [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object' } } }],
    tags: ['keep', 'tools'],
  });
  clock.set(t0 + 3_000);
  await chat(gateway, stranger, 'not yours');
  await call(gateway, tenant, 'POST', '/v1/containers', { label: 'imports', initial_model: 'local/echo' });
  clock.set(t0 + 4_000);
  const registered = await call(gateway, tenant, 'POST', '/v1/chat/completions/register', {
    container: 'imports',
    items: [
      {
        input: { messages: [{ role: 'user', content: 'external' }] },
        output: {
          choices: [
            {
              message: {
                content: null,
                tool_calls: [
                  { id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{}' } },
                ],
              },
            },
          ],
        },
      },
      // A model whose upstream never answers keeps this item pending.
      { input: { model: 'local/stall', messages: [{ role: 'user', content: 'still pending' }] } },
    ],
  });
  expect(registered.status).toBe(200);
  await gateway.app.flushTelemetry();
});
afterAll(async () => gateway.close());

async function run(args: string[]) {
  let out = '';
  let err = '';
  const code = await runPlatformCommand(
    'export',
    ['completions', ...args, '--database-url', gateway.config.storage.databaseUrl],
    { out: (text) => (out += text), err: (text) => (err += text) },
  );
  return { code, out, err };
}

const linesOf = (text: string): Json[] =>
  text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));

describe('maniac-gateway export completions', () => {
  it('writes one fine-tuning example per stored completion, newest first, to a file', async () => {
    const output = join(dir, 'all.jsonl');
    const result = await run(['--org', 'export-org', '--output', output]);
    expect(result.code).toBe(0);
    expect(result.err).toBe('exported 3 completions (1 skipped: pending, failed or purged)\n');
    const text = readFileSync(output, 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    expect(linesOf(text)).toEqual([
      {
        messages: [
          { role: 'user', content: 'external' },
          {
            role: 'assistant',
            content: null,
            tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{}' } }],
          },
        ],
      },
      {
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'with tools' },
          { role: 'assistant', content: 'Echo: with tools' },
        ],
        tools: [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object' } } }],
      },
      {
        messages: [
          { role: 'user', content: 'hello' },
          { role: 'assistant', content: 'Echo: hello' },
        ],
      },
    ]);
    expect(text).not.toContain('hidden');
    expect(text).not.toContain('not yours');
  });

  it('applies the list filters and writes to stdout without a file', async () => {
    const tagged = await run(['--project', tenant.projectId, '--tag', 'keep', '--tag', 'tools']);
    expect(tagged.code).toBe(0);
    expect(linesOf(tagged.out).map((line) => line.messages.at(-2).content)).toEqual(['with tools']);
    const registered = await run(['--org', tenant.orgId, '--source', 'register', '--container', 'imports']);
    expect(linesOf(registered.out)).toHaveLength(1);
    const early = await run(['--org', tenant.orgId, '--to', String(Math.floor(t0 / 1000))]);
    expect(linesOf(early.out).map((line) => line.messages[0].content)).toEqual(['hello']);
    const stranger = await run(['--org', 'stranger-org']);
    expect(linesOf(stranger.out).map((line) => line.messages[0].content)).toEqual(['not yours']);
  });

  it('fails with one line on a bad filter or scope', async () => {
    expect(await run(['--org', tenant.orgId, '--status', 'done'])).toMatchObject({
      code: 1,
      err: "maniac-gateway: Invalid value for 'status': must be one of 'completed', 'pending', 'failed'.\n",
    });
    expect((await run(['--org', 'nobody'])).err).toBe("maniac-gateway: unknown organization 'nobody'\n");
    const unknownSubject = await runPlatformCommand('export', ['traces'], { out: () => {}, err: () => {} });
    expect(unknownSubject).toBe(2);
  });
});

describe('exportCompletions', () => {
  it('pulls pages lazily: a write that waits holds back the next page', async () => {
    const pulled: number[] = [];
    const record = (index: number): StoredCompletionRecord => ({
      id: `chatcmpl-${index}`,
      source: 'gateway',
      status: 'completed',
      createdAt: index,
      model: 'local/echo',
      modelRequested: 'local/echo',
      provider: 'local',
      container: null,
      usage: null,
      costUsd: null,
      tags: [],
      metadata: null,
      trace: null,
      requestBody: { messages: [{ role: 'user', content: String(index) }] },
      responseBody: { choices: [{ message: { role: 'assistant', content: `answer ${index}` } }] },
      error: null,
    });
    const store = {
      requestEvents: {
        async *streamCompletions(_filters: CompletionFilters, pageSize = 500) {
          for (let page = 0; page < 3; page++) {
            pulled.push(page);
            for (let index = 0; index < pageSize; index++) yield record(page * pageSize + index);
          }
        },
      },
    };
    const lines: string[] = [];
    const result = await exportCompletions(
      store,
      [{ projectId: 'p' }],
      async (line) => {
        lines.push(line);
        // After the first line only the first page has been read.
        if (lines.length === 1) expect(pulled).toEqual([0]);
      },
      2,
    );
    expect(result).toEqual({ exported: 6, skipped: 0 });
    expect(pulled).toEqual([0, 1, 2]);
    expect(JSON.parse(lines[5] as string).messages[1]).toEqual({ role: 'assistant', content: 'answer 5' });
  });

  it('reads the real store a page at a time across every match', async () => {
    const lines: string[] = [];
    const result = await exportCompletions(
      gateway.app.store,
      [{ projectId: tenant.projectId }],
      (line) => {
        lines.push(line);
      },
      1,
    );
    expect(result).toEqual({ exported: 3, skipped: 1 });
    expect(lines).toHaveLength(3);
  });
});
