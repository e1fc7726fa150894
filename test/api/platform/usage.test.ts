import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateApiKey } from '#src/auth/api-key.js';
import { runPlatformCommand } from '#src/cli/platform-commands.js';
import type { TestGateway } from '../../support/gateway.js';
import {
  addKey,
  call,
  chat,
  createTenant,
  day,
  errorOf,
  type Json,
  type SteeredClock,
  startPlatformGateway,
  type Tenant,
} from './platform-fixture.js';

let gateway: TestGateway;
let clock: SteeredClock;
let first: Tenant;
let second: Tenant;
let otherProject: Tenant;
const day1 = Date.UTC(2025, 4, 1);
const day2 = day1 + day;
const now = day2 + 10 * 3_600_000;
const seconds = (ms: number) => Math.floor(ms / 1000);
/** Per event id: its stored usage and cost. */
const events: Record<string, { prompt: number; completion: number; cost: number }> = {};

async function record(tenant: Tenant, at: number, model: string, content: string): Promise<string> {
  clock.set(at);
  const body = await chat(gateway, tenant, content, { model });
  events[body.id] = { prompt: body.usage.prompt_tokens, completion: body.usage.completion_tokens, cost: 0 };
  return body.id;
}

beforeAll(async () => {
  ({ gateway, clock } = await startPlatformGateway({ startMs: day1 }));
  first = await createTenant(gateway, 'usage-org');
  second = await addKey(gateway, first.orgId, 'second-key');
  const project = await gateway.app.store.projects.create({ orgId: first.orgId, name: 'batch' });
  const { key, hash, prefix } = generateApiKey();
  const keyRecord = await gateway.app.store.apiKeys.create({
    projectId: project.id,
    name: 'batch',
    hash,
    prefix,
  });
  otherProject = { orgId: first.orgId, projectId: project.id, keyId: keyRecord.id, key };

  await record(first, day1 - 40 * day, 'local/echo', 'too old for the default window');
  await record(first, day1 + 10 * 3_600_000, 'local/echo', 'a');
  clock.set(day1 + 11 * 3_600_000);
  const failed = await call(gateway, first, 'POST', '/v1/chat/completions', {
    model: 'local/no-such-model',
    messages: [{ role: 'user', content: 'x' }],
  });
  expect(failed.status).toBe(404);
  await record(second, day1 + 13 * 3_600_000, 'openai/gpt-4o-mini', 'priced');
  await record(second, day2 + 9 * 3_600_000, 'local/echo', 'bb');
  await record(otherProject, day2 + 9 * 3_600_000, 'local/echo', 'other project');
  clock.set(now);
  await gateway.app.flushTelemetry();
  for (const id of Object.keys(events)) {
    const stored = await gateway.app.store.requestEvents.get(first.orgId, id);
    (events[id] as { cost: number }).cost = stored?.cost_usd ?? 0;
  }
});
afterAll(async () => gateway.close());

const usage = (query: string, tenant: Tenant = first) => call(gateway, tenant, 'GET', `/v1/usage${query}`);
const rowFor = (rows: Json[], field: string, value: unknown) => rows.find((row) => row[field] === value);

describe('GET /v1/usage', () => {
  it('groups by UTC day over the last 30 days by default', async () => {
    const reply = await usage('');
    expect(reply.status).toBe(200);
    expect(reply.body.object).toBe('list');
    expect(reply.body.total).toBe(2);
    const [first, second] = reply.body.data;
    expect(first).toMatchObject({ start: seconds(day1), end: seconds(day2), requests: 3, errors: 1 });
    expect(second).toMatchObject({ start: seconds(day2), end: seconds(day2 + day), requests: 1, errors: 0 });
    expect(first).not.toHaveProperty('model');
  });

  it('sums tokens and cost from the request events', async () => {
    const rows = (await usage(`?from=${seconds(day1)}&to=${seconds(now)}&group_by=model`)).body.data;
    const priced = Object.values(events).find((event) => event.cost > 0);
    expect(priced, 'openai/gpt-4o-mini has a price in the catalog').toBeDefined();
    expect(rowFor(rows, 'model', 'openai/gpt-4o-mini')).toMatchObject({
      requests: 1,
      errors: 0,
      prompt_tokens: priced?.prompt,
      completion_tokens: priced?.completion,
      cached_tokens: 0,
      reasoning_tokens: 0,
      cost_usd: priced?.cost,
      start: seconds(day1),
      end: seconds(now),
    });
    expect(rowFor(rows, 'model', 'local/echo')).toMatchObject({ requests: 2, cost_usd: 0 });
    // The failed request resolved no model: its row comes last with model null.
    expect(rows.at(-1)).toMatchObject({ model: null, requests: 1, errors: 1, prompt_tokens: 0 });
  });

  it('groups by key and by hour, and filters by model', async () => {
    const byKey = (await usage('?group_by=key')).body.data;
    expect(byKey).toHaveLength(2);
    expect(rowFor(byKey, 'key_id', first.keyId)).toMatchObject({ requests: 2, errors: 1 });
    expect(rowFor(byKey, 'key_id', second.keyId)).toMatchObject({ requests: 2, errors: 0 });
    const byHour = (await usage('?group_by=hour')).body.data;
    expect(byHour.map((row: Json) => row.start)).toEqual(
      [10, 11, 13].map((hour) => seconds(day1 + hour * 3_600_000)).concat(seconds(day2 + 9 * 3_600_000)),
    );
    expect(byHour[0].end - byHour[0].start).toBe(3600);
    const echoOnly = (await usage('?model=local/echo')).body.data;
    expect(echoOnly.map((row: Json) => row.requests)).toEqual([1, 1]);
  });

  it('includes older events when from reaches back', async () => {
    const rows = (await usage(`?from=${seconds(day1 - 40 * day)}`)).body.data;
    expect(rows.reduce((sum: number, row: Json) => sum + row.requests, 0)).toBe(5);
  });

  it('rejects an unknown group_by and bad times', async () => {
    expect(errorOf(await usage('?group_by=week'))).toEqual({
      message: "Invalid value for 'group_by': must be one of 'day', 'hour', 'model', 'container', 'key'.",
      type: 'invalid_request_error',
      param: 'group_by',
      code: 'invalid_value',
    });
    expect((await usage('?from=tomorrow')).status).toBe(400);
  });
});

describe('maniac-gateway usage', () => {
  async function run(args: string[]) {
    let out = '';
    let err = '';
    const code = await runPlatformCommand(
      'usage',
      [...args, '--database-url', gateway.config.storage.databaseUrl],
      {
        out: (text) => (out += text),
        err: (text) => (err += text),
      },
    );
    return { code, out, err };
  }

  it('adds up every project of the organization', async () => {
    const result = await run([
      '--org',
      'usage-org',
      '--json',
      '--from',
      String(seconds(day1)),
      '--to',
      String(seconds(now)),
    ]);
    expect(result.err).toBe('');
    expect(result.code).toBe(0);
    const rows = JSON.parse(result.out).data;
    expect(rows.map((row: Json) => [row.start, row.requests])).toEqual([
      [seconds(day1), 3],
      [seconds(day2), 2],
    ]);
    const project = await run(['--project', otherProject.projectId, '--json', '--from', '2025-05-01']);
    expect(JSON.parse(project.out).data.map((row: Json) => row.requests)).toEqual([1]);
  });

  it('prints a table by model and key', async () => {
    const byModel = await run([
      '--org',
      first.orgId,
      '--group-by',
      'model',
      '--from',
      '2025-05-01',
      '--to',
      '2025-05-03',
    ]);
    expect(byModel.code).toBe(0);
    const lines = byModel.out.trim().split('\n');
    expect(lines[0]).toBe(
      'model\trequests\terrors\tprompt_tokens\tcompletion_tokens\tcached_tokens\treasoning_tokens\tcost_usd',
    );
    expect(lines.slice(1).map((line) => line.split('\t').slice(0, 2))).toEqual([
      ['local/echo', '3'],
      ['openai/gpt-4o-mini', '1'],
      ['-', '1'],
    ]);
    const byKey = await run(['--org', first.orgId, '--group-by', 'key', '--from', '2025-05-01']);
    expect(byKey.out).toContain(first.keyId);
    expect(byKey.out).toContain(otherProject.keyId);
  });

  it('fails with one line on bad arguments', async () => {
    expect(await run(['--org', 'nobody'])).toMatchObject({
      code: 1,
      err: "maniac-gateway: unknown organization 'nobody'\n",
    });
    expect((await run([])).err).toBe(
      'maniac-gateway: give exactly one of --org <id|name> or --project <id>\n',
    );
    expect((await run(['--org', first.orgId, '--group-by', 'week'])).code).toBe(1);
    expect(await runPlatformCommand('serve', [], { out: () => {}, err: () => {} })).toBeUndefined();
  });
});
