import { existsSync, readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { validateConfigFile } from './config-validator.js';

export type ProviderType = 'openai' | 'anthropic' | 'gemini' | 'openrouter' | 'openai-compatible';

export interface TimeoutsConfig {
  connectMs: number;
  firstByteMs: number;
  idleMs: number;
  totalMs: number;
}

export interface PricingConfig {
  input?: number | null;
  output?: number | null;
  cache_read?: number | null;
  cache_write?: number | null;
  request?: number | null;
  image?: number | null;
}

/** A catalog entry as written in the built-in data file or the config's `models` section (SPEC §5.1). */
export interface ModelEntryConfig {
  id: string;
  provider?: string;
  display_name?: string;
  created?: number;
  context_window?: number | null;
  max_output_tokens?: number | null;
  pricing?: PricingConfig;
  input_modalities?: string[];
  output_modalities?: string[];
  supported_parameters?: string[];
  supported_apis?: ('chat' | 'responses')[];
  upstream_model?: string;
  aliases?: string[];
  enabled?: boolean;
  timeouts?: Partial<TimeoutsConfig>;
}

/** One upstream, resolved: credentials are read from the environment here and nowhere else. */
export interface ProviderConfig {
  name: string;
  type: ProviderType;
  baseUrl: string;
  /** `undefined` = not configured (requests answer 502 `provider_key_missing`, unless `isKeyless`). */
  apiKey: string | undefined;
  /** An `openai-compatible` provider with neither `apiKey` nor `apiKeyEnv` sends no Authorization. */
  isKeyless: boolean;
  models: string[];
  discover: boolean;
  discoverIntervalMs: number;
  timeouts: Partial<TimeoutsConfig>;
}

export interface Config {
  server: {
    host: string;
    port: number;
    maxBodyBytes: number;
    corsOrigins: string[];
    trustProxy: number;
    headersTimeoutMs: number;
    requestTimeoutMs: number;
    keepAliveTimeoutMs: number;
    maxResponseBytes: number;
  };
  auth: {
    internalKey: string | undefined;
    adminToken: string | undefined;
    cacheTtlSeconds: number;
    negativeCacheTtlSeconds: number;
    staleIfErrorSeconds: number;
  };
  rateLimit: {
    windowSeconds: number;
    orgLimit: number;
    anonymousLimit: number;
    timeoutMs: number;
    redisUrl: string | undefined;
  };
  billing: { mode: 'off' | 'prepaid' };
  storage: { databaseUrl: string; spoolDir: string };
  timeouts: TimeoutsConfig;
  routing: { providerPreference: string[] };
  catalog: { hideUnkeyed: boolean };
  containers: { defaultModel: string };
  background: { concurrency: number; maxQueued: number };
  stream: { keepAliveMs: number };
  shutdown: { drainTimeoutMs: number };
  telemetry: {
    storeBodies: boolean;
    storeClientIp: boolean;
    batchSize: number;
    flushIntervalMs: number;
    queueMax: number;
    queueMaxBytes: number;
    batchMaxBytes: number;
    spoolMaxBytes: number;
    metricsToken: string | undefined;
    logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  };
  /** Built-ins first (`openai`, `anthropic`, `google`, `openrouter`), then config order. */
  providers: ProviderConfig[];
  models: ModelEntryConfig[];
  /** Where the file came from, for messages; `undefined` when running on defaults. */
  sourcePath: string | undefined;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export interface LoadConfigOptions {
  /** Explicit `--config`; an explicit path that does not exist is an error. */
  configPath?: string;
  env?: NodeJS.ProcessEnv;
  /** Command-line flags; they win over the environment and the file. */
  overrides?: { host?: string; port?: number; databaseUrl?: string };
}

const builtInProviders: {
  name: string;
  type: ProviderType;
  baseUrl: string;
  keyEnv: string[];
  urlEnv: string;
}[] = [
  {
    name: 'openai',
    type: 'openai',
    baseUrl: 'https://api.openai.com/v1',
    keyEnv: ['OPENAI_API_KEY'],
    urlEnv: 'OPENAI_BASE_URL',
  },
  {
    name: 'anthropic',
    type: 'anthropic',
    baseUrl: 'https://api.anthropic.com',
    keyEnv: ['ANTHROPIC_API_KEY'],
    urlEnv: 'ANTHROPIC_BASE_URL',
  },
  {
    name: 'google',
    type: 'gemini',
    baseUrl: 'https://generativelanguage.googleapis.com',
    keyEnv: ['GEMINI_API_KEY', 'GOOGLE_API_KEY'],
    urlEnv: 'GEMINI_BASE_URL',
  },
  {
    name: 'openrouter',
    type: 'openrouter',
    baseUrl: 'https://openrouter.ai/api/v1',
    keyEnv: ['OPENROUTER_API_KEY'],
    urlEnv: 'OPENROUTER_BASE_URL',
  },
];

/** The file once validated and defaulted: providers still keyed by name, keys not yet resolved. */
export type ParsedFile = Omit<Config, 'providers' | 'sourcePath'> & {
  providers: Record<
    string,
    Omit<ProviderConfig, 'name' | 'isKeyless' | 'apiKey'> & { apiKey?: string; apiKeyEnv?: string }
  >;
};

function interpolate(value: unknown, env: NodeJS.ProcessEnv, path: string): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_whole, name: string) => {
      const found = env[name];
      if (found === undefined)
        throw new ConfigError(`config: ${path || '(root)'}: environment variable ${name} is not set`);
      return found;
    });
  }
  if (Array.isArray(value)) return value.map((item, index) => interpolate(item, env, `${path}[${index}]`));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value))
      out[key] = interpolate(item, env, path ? `${path}.${key}` : key);
    return out;
  }
  return value;
}

function readFile(path: string): unknown {
  const text = readFileSync(path, 'utf8');
  try {
    return path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new ConfigError(`config: ${path}: cannot parse: ${(error as Error).message}`);
  }
}

function schemaErrorPath(instancePath: string, params: Record<string, unknown>): string {
  const base = instancePath
    .split('/')
    .slice(1)
    .map((segment) => (/^\d+$/.test(segment) ? `[${segment}]` : `.${segment}`))
    .join('')
    .replace(/^\./, '');
  const extra = (params.additionalProperty ?? params.propertyName ?? params.missingProperty) as
    | string
    | undefined;
  if (extra === undefined) return base || '(root)';
  return base ? `${base}.${extra}` : extra;
}

function integerFromEnv(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0)
    throw new ConfigError(`config: ${name}: must be a non-negative integer`);
  return value;
}

/** Reads the file, applies `${ENV}` interpolation, defaults and overrides, and returns a frozen Config. */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  const env = options.env ?? process.env;
  const explicitPath = options.configPath ?? env.MANIAC_CONFIG;
  let sourcePath: string | undefined;
  let raw: unknown = {};
  if (explicitPath) {
    if (!existsSync(explicitPath)) throw new ConfigError(`config: file not found: ${explicitPath}`);
    sourcePath = explicitPath;
  } else if (existsSync('./maniac-gateway.yaml')) {
    sourcePath = './maniac-gateway.yaml';
  }
  if (sourcePath) raw = readFile(sourcePath) ?? {};
  const file = interpolate(raw, env, '') as Record<string, unknown>;
  if (!validateConfigFile(file)) {
    const error = validateConfigFile.errors?.[0];
    const path = error
      ? schemaErrorPath(error.instancePath, error.params as Record<string, unknown>)
      : '(root)';
    throw new ConfigError(`config: ${path}: ${error?.message ?? 'invalid'}`);
  }
  const parsed = file;

  parsed.server.host = options.overrides?.host ?? env.MANIAC_HOST ?? parsed.server.host;
  parsed.server.port = options.overrides?.port ?? integerFromEnv(env, 'MANIAC_PORT') ?? parsed.server.port;
  parsed.storage.databaseUrl =
    options.overrides?.databaseUrl ?? env.MANIAC_DATABASE_URL ?? parsed.storage.databaseUrl;
  parsed.rateLimit.redisUrl = env.MANIAC_REDIS_URL ?? parsed.rateLimit.redisUrl;
  parsed.auth.internalKey = env.MANIAC_INTERNAL_KEY ?? parsed.auth.internalKey;
  parsed.auth.adminToken = env.MANIAC_ADMIN_TOKEN ?? parsed.auth.adminToken;
  parsed.telemetry.metricsToken = env.MANIAC_METRICS_TOKEN ?? parsed.telemetry.metricsToken;
  if (env.MANIAC_LOG_LEVEL)
    parsed.telemetry.logLevel = env.MANIAC_LOG_LEVEL as Config['telemetry']['logLevel'];
  if (parsed.auth.internalKey !== undefined && parsed.auth.internalKey.length < 32) {
    throw new ConfigError('config: MANIAC_INTERNAL_KEY: must be at least 32 characters');
  }
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(parsed.telemetry.logLevel)) {
    throw new ConfigError(
      'config: MANIAC_LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent',
    );
  }

  const providers: ProviderConfig[] = [];
  for (const builtIn of builtInProviders) {
    const fromFile = parsed.providers[builtIn.name];
    if (fromFile && fromFile.type !== builtIn.type) {
      throw new ConfigError(
        `config: providers.${builtIn.name}.type: built-in provider must keep type '${builtIn.type}'`,
      );
    }
    const keyFromEnv = builtIn.keyEnv
      .map((name) => env[name])
      .find((value) => value !== undefined && value !== '');
    providers.push({
      name: builtIn.name,
      type: builtIn.type,
      baseUrl: stripSlash(env[builtIn.urlEnv] || fromFile?.baseUrl || builtIn.baseUrl),
      apiKey: fromFile?.apiKey ?? (fromFile?.apiKeyEnv ? env[fromFile.apiKeyEnv] : undefined) ?? keyFromEnv,
      isKeyless: false,
      models: fromFile?.models ?? [],
      discover: fromFile?.discover ?? false,
      discoverIntervalMs: fromFile?.discoverIntervalMs ?? 600_000,
      timeouts: fromFile?.timeouts ?? {},
    });
  }
  for (const [name, provider] of Object.entries(parsed.providers)) {
    if (builtInProviders.some((builtIn) => builtIn.name === name)) continue;
    if (!provider.baseUrl)
      throw new ConfigError(`config: providers.${name}.baseUrl: required for a custom provider`);
    const apiKey = provider.apiKey ?? (provider.apiKeyEnv ? env[provider.apiKeyEnv] || undefined : undefined);
    providers.push({
      name,
      type: provider.type,
      baseUrl: stripSlash(provider.baseUrl),
      apiKey,
      isKeyless:
        provider.type === 'openai-compatible' &&
        provider.apiKey === undefined &&
        provider.apiKeyEnv === undefined,
      models: provider.models ?? [],
      discover: provider.discover ?? false,
      discoverIntervalMs: provider.discoverIntervalMs ?? 600_000,
      timeouts: provider.timeouts ?? {},
    });
  }

  return deepFreeze({ ...parsed, providers, sourcePath });
}

function stripSlash(url: string): string {
  return url.endsWith('/') ? url.slice(0, -1) : url;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const item of Object.values(value)) deepFreeze(item);
  }
  return value;
}
