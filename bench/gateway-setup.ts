import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';

/**
 * What the gateway under test is configured with: the config file, its environment, the tenant the
 * bench sends as, and the features switched on (README.md, "Gateway features").
 */

export const allFeatures = ['api-key', 'ratelimit', 'budget', 'billing', 'request-log', 'redis'] as const;
export type Feature = (typeof allFeatures)[number];
/** Production with every feature on, single process (Redis joins for `--processes`). */
export const defaultFeatures = 'api-key,ratelimit,budget,billing,request-log';

/** So high that a working limiter, budget or balance never answers 429 or 402; they only cost. */
const unlimited = 1_000_000_000;
const benchFundsUsd = 1_000_000;
/** gpt-4o-mini's prices, so that reservations and settlements compute real amounts. */
const benchPricing = { input: 1.5e-7, output: 6e-7 };

export interface GatewaySetup {
  features: ReadonlySet<Feature>;
  /** The generated config, without the per-process `storage.spoolDir`. */
  config: Record<string, unknown>;
  /** The same config as a file, for `--setup-command`. */
  configPath: string;
  env: Record<string, string>;
  internalKey: string;
  adminToken: string;
  /** Sent as `Authorization: Bearer …` by every client of the gateway. */
  bearer: string;
  /** How the bearer came about: `internal-key`, `api-key (provisioned)`, `api-key (given)`. */
  bearerKind: string;
}

export interface GatewaySetupOptions {
  workDir: string;
  bareOrigin: string;
  streamOrigin: string;
  features: ReadonlySet<Feature>;
  redisUrl: string;
  databaseUrl: string | undefined;
  /** A key that already exists in `databaseUrl`; skips provisioning. */
  apiKey: string | undefined;
  /** JSON file merged over the generated config (objects merge, everything else replaces). */
  extraConfigPath: string | undefined;
  /** Keys to reuse, so that several setups of one run share a tenant. */
  secrets?: { internalKey: string; adminToken: string };
}

function mergeInto(target: Record<string, unknown>, extra: Record<string, unknown>): Record<string, unknown> {
  for (const [key, value] of Object.entries(extra)) {
    const current = target[key];
    if (isPlainObject(current) && isPlainObject(value)) mergeInto(current, value);
    else target[key] = value;
  }
  return target;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * Builds the gateway's config: providers `bare` and `stream` (model `echo` each, priced like a small
 * model), config-level limits of 10⁹ and the features asked for.
 */
export function prepareGateway(options: GatewaySetupOptions): GatewaySetup {
  const { features, workDir } = options;
  const isLogging = features.has('request-log');
  const provider = (origin: string) => ({
    type: 'openai-compatible',
    baseUrl: `${origin}/v1`,
    apiKeyEnv: 'BENCH_UPSTREAM_KEY',
    models: ['echo'],
  });
  const config: Record<string, unknown> = {
    server: { host: '127.0.0.1' },
    shutdown: { drainTimeoutMs: 1000 },
    rateLimit: { windowSeconds: 60, orgLimit: unlimited, anonymousLimit: unlimited },
    billing: { mode: features.has('billing') ? 'prepaid' : 'off' },
    telemetry: { logLevel: isLogging ? 'info' : 'warn', storeBodies: isLogging },
    providers: { bare: provider(options.bareOrigin), stream: provider(options.streamOrigin) },
    models: ['bare/echo', 'stream/echo'].map((id) => ({
      id,
      upstream_model: 'echo',
      context_window: 128_000,
      max_output_tokens: 16_384,
      pricing: benchPricing,
    })),
  };
  if (options.extraConfigPath) {
    mergeInto(config, JSON.parse(readFileSync(options.extraConfigPath, 'utf8')) as Record<string, unknown>);
  }
  const configPath = join(workDir, 'gateway.json');
  writeFileSync(configPath, `${JSON.stringify(config, null, 2)}\n`);

  const internalKey = options.secrets?.internalKey ?? randomBytes(24).toString('hex');
  const adminToken = options.secrets?.adminToken ?? randomBytes(24).toString('hex');
  const env: Record<string, string> = {
    NODE_ENV: 'production',
    MANIAC_INTERNAL_KEY: internalKey,
    MANIAC_ADMIN_TOKEN: adminToken,
    MANIAC_DATABASE_URL: options.databaseUrl ?? `sqlite:${join(workDir, 'bench.db')}`,
    BENCH_UPSTREAM_KEY: 'sk-bench-upstream',
  };
  if (features.has('redis')) env.MANIAC_REDIS_URL = options.redisUrl;
  return {
    features,
    config,
    configPath,
    env,
    internalKey,
    adminToken,
    bearer: options.apiKey ?? internalKey,
    bearerKind: options.apiKey ? 'api-key (given)' : 'internal-key',
  };
}

async function admin(origin: string, token: string, method: 'POST' | 'PUT', path: string, body: unknown) {
  const response = await request(`${origin}/admin/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    headersTimeout: 10_000,
    bodyTimeout: 10_000,
  });
  const text = await response.body.text();
  if (response.statusCode >= 300) {
    throw new Error(`admin ${method} ${path}: ${response.statusCode} ${text.slice(0, 300)}`);
  }
  return JSON.parse(text) as Record<string, unknown>;
}

/**
 * With `api-key`, creates the bench's tenant through the admin API of a running gateway: an
 * organization, its credits (`billing`), a monthly budget (`budget`), request and token limits on
 * the organization and the key (`ratelimit`), and the key, which becomes the bearer. The internal
 * key is exempt from limits and billing, so without `api-key` those features cost nothing.
 */
export async function provisionTenant(setup: GatewaySetup, origin: string): Promise<void> {
  if (!setup.features.has('api-key') || setup.bearerKind !== 'internal-key') return;
  const { features, adminToken } = setup;
  const limits = features.has('ratelimit') ? { rate_limit: unlimited, token_rate_limit: unlimited } : {};
  const name = `bench-${Date.now().toString(36)}`;
  await admin(origin, adminToken, 'POST', '/organizations', { name, ...limits });
  if (features.has('billing')) {
    await admin(origin, adminToken, 'POST', `/organizations/${name}/credits`, { amount_usd: benchFundsUsd });
  }
  if (features.has('budget')) {
    await admin(origin, adminToken, 'PUT', '/budgets', {
      scope: 'org',
      id: name,
      period: 'month',
      limit_usd: benchFundsUsd,
    });
  }
  const created = await admin(origin, adminToken, 'POST', '/keys', { org: name, name: 'bench', ...limits });
  if (typeof created.key !== 'string') throw new Error('admin POST /keys: no key in the answer');
  setup.bearer = created.key;
  setup.bearerKind = 'api-key (provisioned)';
}

/**
 * Runs a shell command once with the gateway's environment (to migrate another database, create a
 * tenant or fund it). The last non-empty stdout line, as a JSON object's `key` or as a bare token,
 * becomes the bearer.
 */
export async function runSetupCommand(command: string, setup: GatewaySetup, cwd: string): Promise<void> {
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(
      '/bin/sh',
      ['-c', command],
      { cwd, env: { ...process.env, ...setup.env, MANIAC_CONFIG: setup.configPath }, timeout: 60_000 },
      (error, out) => (error ? reject(error) : resolve(out)),
    );
  });
  const last = stdout.trim().split('\n').pop()?.trim() ?? '';
  const key = last.startsWith('{')
    ? (JSON.parse(last) as { key?: unknown }).key
    : /^\S{20,}$/.test(last)
      ? last
      : undefined;
  if (typeof key === 'string') {
    setup.bearer = key;
    setup.bearerKind = 'api-key (setup command)';
  }
}
