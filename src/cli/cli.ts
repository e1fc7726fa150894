import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { buildApp } from '../app.js';
import { ConfigError, type LoadConfigOptions, loadConfig } from '../config/config.js';
import { buildOpenApiDocument } from '../http/openapi.js';
import { ModelCatalog, readBuiltInCatalog, toPublicModel } from '../routing/model-catalog.js';
import { migrateStore } from '../store/create-store.js';

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

const version = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

const commonOptions = {
  config: { type: 'string', short: 'c' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const usage: Record<string, string> = {
  main: `maniac-gateway ${version}: an OpenAI-compatible LLM gateway

Usage: maniac-gateway [command] [options]

Commands:
  serve          Start the gateway (default)
  migrate        Apply pending database migrations
  config check   Validate the configuration and print a summary
  models list    List the model catalog
  openapi        Print the OpenAPI document of the HTTP API
  fake-upstream  Run the fake provider used by the tests and the benchmark
  orgs           Organizations: create | list | show | disable | enable
  projects       Projects: create | list
  keys           API keys: create | list | disable | revoke
  credits        Prepaid credits: add | balance
  budgets        Spend budgets: set | list
  usage          Usage and cost by day, hour, model, container or key
  export completions  Stored completions as fine-tuning JSONL

Options:
  -c, --config FILE   Configuration file (YAML or JSON); also MANIAC_CONFIG
  --json              Machine-readable output
  -h, --help          Help for a command
  -v, --version       Print the version
`,
  serve: `Usage: maniac-gateway serve [options]

Start the gateway.

Options:
  -c, --config FILE        Configuration file (default ./maniac-gateway.yaml if present); MANIAC_CONFIG
  --host HOST              Listen address (default 0.0.0.0); MANIAC_HOST
  -p, --port PORT          Listen port (default 8080); MANIAC_PORT
  --database-url URL       sqlite:./data/maniac.db (default) or postgres://...; MANIAC_DATABASE_URL
  -h, --help               This help
`,
  migrate: `Usage: maniac-gateway migrate [--config FILE] [--database-url URL] [--json]

Apply pending migrations to the database (they also run when the gateway starts).
`,
  config: `Usage: maniac-gateway config check [--config FILE] [--json]

Load and validate the configuration; exits non-zero naming the bad field.
`,
  models: `Usage: maniac-gateway models list [--config FILE] [--json]

List the enabled catalog models (built-in, configured and listed per provider).
`,
  'fake-upstream': `Usage: maniac-gateway fake-upstream [--port PORT] [--host HOST] [--slow-ms MS]

Serve recorded provider transcripts on loopback (see src/fake-upstream/README.md).
`,
  openapi: `Usage: maniac-gateway openapi

Print the OpenAPI 3.1 document served at /openapi.json.
`,
};

function configOptions(values: {
  config?: string;
  host?: string;
  port?: string;
  'database-url'?: string;
}): LoadConfigOptions {
  const overrides: LoadConfigOptions['overrides'] = {};
  if (values.host !== undefined) overrides.host = values.host;
  if (values.port !== undefined) {
    const port = Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new ConfigError('config: --port: must be 0-65535');
    overrides.port = port;
  }
  if (values['database-url'] !== undefined) overrides.databaseUrl = values['database-url'];
  return { configPath: values.config, overrides };
}

async function serve(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      ...commonOptions,
      host: { type: 'string' },
      port: { type: 'string', short: 'p' },
      'database-url': { type: 'string' },
    },
  });
  if (values.help) {
    io.out(usage.serve as string);
    return 0;
  }
  const config = loadConfig(configOptions(values));
  const app = await buildApp({ config });
  const startedAt = performance.now();
  await app.start();
  const address = await app.listen();
  app.logger.info({ url: address.url, ready_ms: Math.round(performance.now() - startedAt) }, 'gateway ready');
  const keyHint = config.auth.internalKey
    ? 'Authorization: Bearer $MANIAC_INTERNAL_KEY'
    : 'Authorization: Bearer <key>';
  const keyHelp = config.auth.internalKey
    ? ''
    : 'No key yet? Create one:\n  npx maniac-gateway orgs create my-team && npx maniac-gateway keys create --org my-team\n' +
      '(or set MANIAC_INTERNAL_KEY, 32+ characters, and restart)\n';
  io.err(
    `Maniac Gateway listening on ${address.url}\n${keyHelp}` +
      `Try:\n  curl ${address.url}/v1/chat/completions -H 'Content-Type: application/json' \\\n` +
      `    -H '${keyHint}' \\\n` +
      `    -d '{"model":"openai/gpt-4o-mini","messages":[{"role":"user","content":"Hello"}]}'\n`,
  );
  let isStopping = false;
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      if (isStopping) {
        // A second signal: spool what is queued and leave at once.
        void app.closeNow().finally(() => process.exit(0));
        return;
      }
      isStopping = true;
      app.logger.info({ signal }, 'draining');
      void app.close().then(resolve);
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });
  return 0;
}

function catalogFor(configPath: string | undefined): {
  catalog: ModelCatalog;
  config: ReturnType<typeof loadConfig>;
} {
  const config = loadConfig({ configPath });
  const catalog = new ModelCatalog({
    builtIn: readBuiltInCatalog(),
    configured: config.models,
    providers: config.providers,
    providerPreference: config.routing.providerPreference,
    hideUnkeyed: config.catalog.hideUnkeyed,
  });
  return { catalog, config };
}

async function migrate(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({ args, options: { ...commonOptions, 'database-url': { type: 'string' } } });
  if (values.help) {
    io.out(usage.migrate as string);
    return 0;
  }
  const config = loadConfig(configOptions(values));
  const applied = await migrateStore(config.storage.databaseUrl);
  if (values.json) io.out(`${JSON.stringify({ applied })}\n`);
  else io.out(applied.length === 0 ? 'database is up to date\n' : `applied: ${applied.join(', ')}\n`);
  return 0;
}

async function configCheck(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({ args, options: commonOptions });
  if (values.help) {
    io.out(usage.config as string);
    return 0;
  }
  const { catalog, config } = catalogFor(values.config);
  const summary = {
    ok: true,
    source: config.sourcePath ?? null,
    providers: config.providers.map((provider) => ({
      name: provider.name,
      type: provider.type,
      keyConfigured: provider.apiKey !== undefined || provider.isKeyless,
    })),
    models: catalog.list().length,
  };
  if (values.json) io.out(`${JSON.stringify(summary)}\n`);
  else {
    io.out(`config ok (${summary.source ?? 'defaults'}): ${summary.models} models\n`);
    for (const provider of summary.providers) {
      io.out(
        `  ${provider.name} (${provider.type}): ${provider.keyConfigured ? 'key configured' : 'no key'}\n`,
      );
    }
  }
  return 0;
}

async function modelsList(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({ args, options: commonOptions });
  if (values.help) {
    io.out(usage.models as string);
    return 0;
  }
  const { catalog } = catalogFor(values.config);
  const models = catalog.list().map(toPublicModel);
  if (values.json) io.out(`${JSON.stringify({ object: 'list', data: models })}\n`);
  else for (const model of models) io.out(`${model.id}\t${model.provider}\t${model.context_window ?? '-'}\n`);
  return 0;
}

async function fakeUpstream(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      help: commonOptions.help,
      port: { type: 'string', short: 'p' },
      host: { type: 'string' },
      'slow-ms': { type: 'string' },
    },
  });
  if (values.help) {
    io.out(usage['fake-upstream'] as string);
    return 0;
  }
  const { FakeUpstream } = await import('../fake-upstream/fake-upstream.js');
  const { allFakeFormats } = await import('../fake-upstream/all-formats.js');
  const fake = await FakeUpstream.start({
    port: values.port === undefined ? 18090 : Number(values.port),
    host: values.host ?? '127.0.0.1',
    slowMs: values['slow-ms'] === undefined ? undefined : Number(values['slow-ms']),
    formats: allFakeFormats,
  });
  io.out(`fake upstream on ${fake.url}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  await fake.close();
  return 0;
}

/** Runs one CLI invocation; returns the exit code. Errors print one line, never a stack. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [command = 'serve', ...rest] = argv;
  try {
    if (command === '--version' || command === '-v') {
      io.out(`${version}\n`);
      return 0;
    }
    if (command === '--help' || command === '-h' || command === 'help') {
      io.out(usage.main as string);
      return 0;
    }
    if (command.startsWith('-')) return await serve(argv, io);
    switch (command) {
      case 'serve':
        return await serve(rest, io);
      case 'migrate':
        return await migrate(rest, io);
      case 'config':
        if (rest[0] === 'check') return await configCheck(rest.slice(1), io);
        io.out(usage.config as string);
        return rest[0] === '--help' || rest[0] === '-h' ? 0 : 2;
      case 'models':
        if (rest[0] === 'list') return await modelsList(rest.slice(1), io);
        io.out(usage.models as string);
        return rest[0] === '--help' || rest[0] === '-h' ? 0 : 2;
      case 'fake-upstream':
        return await fakeUpstream(rest, io);
      case 'openapi':
        if (rest.includes('--help') || rest.includes('-h')) {
          io.out(usage.openapi as string);
          return 0;
        }
        io.out(`${JSON.stringify(buildOpenApiDocument(), null, 2)}\n`);
        return 0;
      default: {
        // The operator commands load on demand, so that `serve` does not load their modules.
        const { runManagementCommand } = await import('./management-commands.js');
        const { runPlatformCommand } = await import('./platform-commands.js');
        const managed =
          (await runManagementCommand(command, rest, io)) ?? (await runPlatformCommand(command, rest, io));
        if (managed !== undefined) return managed;
        io.err(`maniac-gateway: unknown command '${command}'\n\n${usage.main}`);
        return 2;
      }
    }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    io.err(`maniac-gateway: ${message}\n`);
    return 1;
  }
}
