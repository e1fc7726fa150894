/** JSON Schema of the configuration file (SPEC §13.1). Defaults here are the documented defaults. */
const timeoutsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    connectMs: { type: 'integer', minimum: 1 },
    firstByteMs: { type: 'integer', minimum: 1 },
    idleMs: { type: 'integer', minimum: 1 },
    totalMs: { type: 'integer', minimum: 1 },
  },
} as const;

const pricingSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    input: { type: ['number', 'null'], minimum: 0 },
    output: { type: ['number', 'null'], minimum: 0 },
    cache_read: { type: ['number', 'null'], minimum: 0 },
    cache_write: { type: ['number', 'null'], minimum: 0 },
    request: { type: ['number', 'null'], minimum: 0 },
    image: { type: ['number', 'null'], minimum: 0 },
  },
} as const;

const modality = { enum: ['text', 'image', 'audio', 'file'] } as const;

export const modelEntrySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id'],
  properties: {
    id: { type: 'string', pattern: '^[^/\\s]+/\\S+$' },
    provider: { type: 'string', minLength: 1 },
    display_name: { type: 'string' },
    created: { type: 'integer' },
    context_window: { type: ['integer', 'null'], minimum: 1 },
    max_output_tokens: { type: ['integer', 'null'], minimum: 1 },
    pricing: pricingSchema,
    input_modalities: { type: 'array', items: modality },
    output_modalities: { type: 'array', items: modality },
    supported_parameters: { type: 'array', items: { type: 'string' } },
    supported_apis: { type: 'array', items: { enum: ['chat', 'responses'] } },
    upstream_model: { type: 'string', minLength: 1 },
    aliases: { type: 'array', items: { type: 'string', minLength: 1 } },
    enabled: { type: 'boolean' },
    timeouts: timeoutsSchema,
  },
} as const;

export const configSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    server: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        host: { type: 'string', default: '0.0.0.0' },
        port: { type: 'integer', minimum: 0, maximum: 65535, default: 8080 },
        maxBodyBytes: { type: 'integer', minimum: 1, default: 20 * 1024 * 1024 },
        corsOrigins: { type: 'array', items: { type: 'string' }, default: [] },
        trustProxy: { type: 'integer', minimum: 0, default: 0 },
        headersTimeoutMs: { type: 'integer', minimum: 1, default: 10_000 },
        requestTimeoutMs: { type: 'integer', minimum: 0, default: 120_000 },
        keepAliveTimeoutMs: { type: 'integer', minimum: 1, default: 72_000 },
        maxResponseBytes: { type: 'integer', minimum: 1, default: 50 * 1024 * 1024 },
      },
    },
    auth: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        internalKey: { type: 'string', minLength: 32 },
        adminToken: { type: 'string', minLength: 16 },
        cacheTtlSeconds: { type: 'number', minimum: 0, default: 5 },
        negativeCacheTtlSeconds: { type: 'number', minimum: 0, default: 5 },
        staleIfErrorSeconds: { type: 'number', minimum: 0, default: 300 },
      },
    },
    rateLimit: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        windowSeconds: { type: 'integer', minimum: 1, default: 60 },
        orgLimit: { type: 'integer', minimum: 1, default: 600 },
        anonymousLimit: { type: 'integer', minimum: 1, default: 60 },
        timeoutMs: { type: 'integer', minimum: 1, default: 50 },
        redisUrl: { type: 'string' },
      },
    },
    billing: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: { mode: { enum: ['off', 'prepaid'], default: 'off' } },
    },
    storage: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        databaseUrl: { type: 'string', default: 'sqlite:./data/maniac.db' },
        spoolDir: { type: 'string', default: './data/spool' },
      },
    },
    timeouts: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        connectMs: { type: 'integer', minimum: 1, default: 10_000 },
        firstByteMs: { type: 'integer', minimum: 1, default: 300_000 },
        idleMs: { type: 'integer', minimum: 1, default: 120_000 },
        totalMs: { type: 'integer', minimum: 1, default: 600_000 },
      },
    },
    routing: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        providerPreference: {
          type: 'array',
          items: { type: 'string' },
          default: ['openai', 'anthropic', 'google', 'openrouter'],
        },
      },
    },
    catalog: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: { hideUnkeyed: { type: 'boolean', default: false } },
    },
    containers: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: { defaultModel: { type: 'string', default: 'openai/gpt-4o-mini' } },
    },
    background: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        concurrency: { type: 'integer', minimum: 1, default: 8 },
        maxQueued: { type: 'integer', minimum: 0, default: 1000 },
      },
    },
    stream: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: { keepAliveMs: { type: 'integer', minimum: 1, default: 15_000 } },
    },
    shutdown: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: { drainTimeoutMs: { type: 'integer', minimum: 0, default: 30_000 } },
    },
    telemetry: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        storeBodies: { type: 'boolean', default: true },
        storeClientIp: { type: 'boolean', default: false },
        batchSize: { type: 'integer', minimum: 1, default: 500 },
        flushIntervalMs: { type: 'integer', minimum: 1, default: 1000 },
        queueMax: { type: 'integer', minimum: 1, default: 50_000 },
        queueMaxBytes: { type: 'integer', minimum: 1, default: 256 * 1024 * 1024 },
        batchMaxBytes: { type: 'integer', minimum: 1, default: 4 * 1024 * 1024 },
        spoolMaxBytes: { type: 'integer', minimum: 1, default: 1024 * 1024 * 1024 },
        metricsToken: { type: 'string' },
        logLevel: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], default: 'info' },
      },
    },
    providers: {
      type: 'object',
      default: {},
      propertyNames: { pattern: '^(?!maniac$)[A-Za-z0-9][A-Za-z0-9_-]{0,63}$' },
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['type'],
        properties: {
          type: { enum: ['openai', 'anthropic', 'gemini', 'openrouter', 'openai-compatible'] },
          apiKey: { type: 'string' },
          apiKeyEnv: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$' },
          baseUrl: { type: 'string', pattern: '^https?://' },
          models: { type: 'array', items: { type: 'string', minLength: 1 } },
          discover: { type: 'boolean', default: false },
          discoverIntervalMs: { type: 'integer', minimum: 1000, default: 600_000 },
          timeouts: timeoutsSchema,
        },
      },
    },
    models: { type: 'array', items: modelEntrySchema, default: [] },
  },
} as const;
