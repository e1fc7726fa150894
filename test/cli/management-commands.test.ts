import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashApiKey } from '#src/auth/api-key.js';
import { revocationChannel } from '#src/auth/redis-revocation-bus.js';
import { runManagementCommand } from '#src/cli/management-commands.js';
import { createStore } from '#src/store/create-store.js';

let directory: string;
let env: NodeJS.ProcessEnv;

beforeAll(() => {
  directory = mkdtempSync(join(tmpdir(), 'mgw-cli-admin-'));
  env = { MANIAC_DATABASE_URL: `sqlite:${join(directory, 'db.sqlite')}` };
});
afterAll(() => rmSync(directory, { recursive: true, force: true }));

async function run(argv: string[], environment: NodeJS.ProcessEnv = env) {
  let out = '';
  let err = '';
  const [command = '', ...args] = argv;
  const code = await runManagementCommand(
    command,
    args,
    { out: (text) => (out += text), err: (text) => (err += text) },
    environment,
  );
  return { code, out, err };
}

/** Runs with `--json`, expects success and one JSON document on stdout. */
async function json(argv: string[], environment?: NodeJS.ProcessEnv) {
  const result = await run([...argv, '--json'], environment);
  expect(result.code, `${argv.join(' ')}: ${result.err}`).toBe(0);
  expect(result.out.endsWith('\n') && result.out.indexOf('\n') === result.out.length - 1).toBe(true);
  return JSON.parse(result.out);
}

describe('management commands', () => {
  it('ignore commands that are not theirs', async () => {
    expect((await run(['serve'])).code).toBeUndefined();
    expect((await run(['models', 'list'])).code).toBeUndefined();
  });

  it('manage organizations and projects, in JSON and for humans', async () => {
    const org = await json(['orgs', 'create', 'umbrella', '--rate-limit', '120']);
    expect(org).toMatchObject({ object: 'organization', name: 'umbrella', rate_limit: 120 });
    expect(org.default_project).toMatchObject({ name: 'default' });
    const listed = await json(['orgs', 'list']);
    expect(listed.data.map((item: { id: string }) => item.id)).toContain(org.id);
    const project = await json(['projects', 'create', '--org', 'umbrella', 'labs']);
    expect(project).toMatchObject({ org_id: org.id, name: 'labs' });
    expect((await json(['projects', 'list', '--org', org.id])).data).toHaveLength(2);
    const shown = await json(['orgs', 'show', 'umbrella']);
    expect(shown).toMatchObject({ id: org.id, balance: { configured: false }, projects: [{}, {}] });

    const human = await run(['orgs', 'list', '--database-url', env.MANIAC_DATABASE_URL as string], {});
    expect(human.code).toBe(0);
    expect(human.out).toContain(`${org.id}\tumbrella\tactive\n`);
    expect(await json(['orgs', 'disable', org.id])).toMatchObject({ disabled: true });
    expect(await json(['orgs', 'enable', 'umbrella'])).toMatchObject({ disabled: false });
  });

  it('creates a key printed once: JSON has key and id; human output has the key alone on stdout', async () => {
    await json(['orgs', 'create', 'stark']);
    const created = await json([
      'keys',
      'create',
      '--org',
      'stark',
      '--name',
      'deploy',
      '--expires',
      '30d',
      '--rate-limit',
      '5',
    ]);
    expect(created.key).toMatch(/^mk_live_[0-9A-Za-z]{32}$/);
    expect(created.id).toMatch(/^key_/);
    expect(created).toMatchObject({ name: 'deploy', rate_limit: 5, status: 'active' });
    expect(created.expires_at - Date.now() / 1000).toBeGreaterThan(29 * 86_400);

    const human = await run(['keys', 'create', '--org', 'stark']);
    expect(human.code).toBe(0);
    expect(human.out).toMatch(/^mk_live_[0-9A-Za-z]{32}\n$/);
    expect(human.err).toContain('shown only once');

    const listed = await run(['keys', 'list', '--org', 'stark', '--json']);
    const keys = JSON.parse(listed.out).data as { id: string }[];
    expect(keys.map((key) => key.id)).toContain(created.id);
    for (const secret of [created.key, hashApiKey(created.key), human.out.trim()])
      expect(listed.out).not.toContain(secret);

    expect(await json(['keys', 'revoke', created.id])).toMatchObject({ id: created.id, status: 'revoked' });
    const store = await createStore(env.MANIAC_DATABASE_URL as string);
    try {
      expect((await store.apiKeys.findByHash(hashApiKey(created.key)))?.revokedAt).not.toBeNull();
    } finally {
      await store.close();
    }
    expect(await json(['keys', 'disable', keys[0]?.id as string])).toMatchObject({ status: 'disabled' });
  });

  it('adds credits, shows the balance and manages budgets', async () => {
    const org = await json(['orgs', 'create', 'wayne']);
    expect(await json(['credits', 'add', '--org', 'wayne', '--amount', '12.5'])).toMatchObject({
      amount_usd: 12.5,
      balance_usd: 12.5,
    });
    expect(await json(['credits', 'balance', '--org', org.id])).toMatchObject({
      configured: true,
      available_usd: 12.5,
    });
    const human = await run(['credits', 'balance', '--org', 'wayne']);
    expect(human.out).toBe(`${org.id}: balance $12.5000, reserved $0.0000, available $12.5000\n`);

    const budget = await json([
      'budgets',
      'set',
      '--scope',
      'org',
      '--id',
      'wayne',
      '--period',
      'day',
      '--limit',
      '3',
    ]);
    expect(budget).toMatchObject({ scope: 'org', scope_id: org.id, period: 'day', limit_usd: 3 });
    expect((await json(['budgets', 'list', '--org', 'wayne'])).data).toEqual([budget]);
  });

  it('fails with one line on stderr and a non-zero exit, naming the flag', async () => {
    const cases: [string[], number, RegExp][] = [
      [['orgs', 'show', 'nobody'], 1, /nobody/],
      [['credits', 'add', '--org', 'nobody', '--amount', '1'], 1, /nobody/],
      [['keys', 'create', '--name', 'x'], 1, /'org'.*\(--org\)/],
      [['credits', 'add', '--org', 'x', '--amount', 'ten'], 1, /amount_usd.*\(--amount\)/],
      [['budgets', 'set', '--scope', 'team', '--id', 'x', '--period', 'day', '--limit', '1'], 1, /--scope/],
      [['keys', 'create', '--org', 'x', '--bogus'], 2, /bogus/],
      [['orgs', 'frobnicate'], 2, /unknown command 'orgs frobnicate'/],
      [['orgs', 'list', '--database-url', 'mysql://nope'], 1, /Unsupported database URL/],
    ];
    for (const [argv, code, message] of cases) {
      const result = await run([...argv, '--json']);
      expect(result.code, argv.join(' ')).toBe(code);
      expect(result.out, argv.join(' ')).toBe('');
      const [first] = result.err.split('\n');
      expect(first, argv.join(' ')).toMatch(/^maniac-gateway: /);
      expect(first).toMatch(message);
      if (code === 1) expect(result.err).toBe(`${first}\n`);
    }
  });

  it('prints usage for a bare command (exit 2) and for --help (exit 0)', async () => {
    const bare = await run(['keys']);
    expect(bare.code).toBe(2);
    expect(bare.out).toContain('maniac-gateway keys create');
    const help = await run(['budgets', 'set', '--help']);
    expect(help.code).toBe(0);
    expect(help.out).toContain('--scope org|project|key');
  });
});

describe('revocations over Redis (MANIAC_REDIS_URL)', () => {
  const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

  it('publish revoked and disabled key ids and disabled organizations on the revocation channel', async () => {
    const listener = new Redis(redisUrl);
    try {
      await listener.subscribe(revocationChannel);
      const withRedis = { ...env, MANIAC_REDIS_URL: redisUrl };
      const org = await json(['orgs', 'create', 'cyberdyne'], withRedis);
      const key = await json(['keys', 'create', '--org', 'cyberdyne'], withRedis);
      const expected = [key.id, key.id, org.id];
      const received = new Promise<string[]>((resolve) => {
        const messages: string[] = [];
        listener.on('message', (_channel: string, message: string) => {
          if (!expected.includes(message)) return;
          messages.push(message);
          if (messages.length === expected.length) resolve(messages);
        });
      });
      await json(['keys', 'disable', key.id], withRedis);
      await json(['keys', 'revoke', key.id], withRedis);
      await json(['orgs', 'disable', org.id], withRedis);
      expect(await received).toEqual(expected);
    } finally {
      await listener.quit();
    }
  });

  it('still succeeds, with a warning, when Redis cannot be reached', async () => {
    await json(['orgs', 'create', 'tyrell']);
    const key = await json(['keys', 'create', '--org', 'tyrell']);
    const result = await run(['keys', 'revoke', key.id, '--json'], {
      ...env,
      MANIAC_REDIS_URL: 'redis://127.0.0.1:1',
    });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.out)).toMatchObject({ status: 'revoked' });
    expect(result.err).toMatch(/^maniac-gateway: warning: could not broadcast to Redis/);
  });
});
