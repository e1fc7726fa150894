import { parseArgs } from 'node:util';
import type { Redis } from 'ioredis';
import * as admin from '../api/admin.js';
import { formatUsd } from '../billing/cost.js';
import { type Clock, systemClock } from '../clock.js';
import { loadConfig } from '../config/config.js';
import { GatewayError } from '../errors/gateway-error.js';
import { createStore } from '../store/create-store.js';
import type { CliIo } from './cli.js';

type Values = Record<string, string | boolean | undefined>;
type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string }>;

interface Subcommand {
  usage: string;
  options?: OptionSpec;
  /** Calls the same handler as the admin API; its result is printed as is with `--json`. */
  run(context: admin.AdminContext, values: Values, positionals: string[], clock: Clock): Promise<unknown>;
  /** Human output (stdout); notes that must not pollute `$(…)` captures go to stderr. */
  print(result: never, io: CliIo): void;
}

const commonOptions = {
  config: { type: 'string', short: 'c' },
  'database-url': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const limitOptions: OptionSpec = { 'rate-limit': { type: 'string' }, 'token-rate-limit': { type: 'string' } };
const orgOption: OptionSpec = { org: { type: 'string' } };

/** The flag behind each request field, so an error names what the operator typed. */
const flagOf: Record<string, string> = {
  name: '--name',
  org: '--org',
  project: '--project',
  expires_at: '--expires',
  rate_limit: '--rate-limit',
  token_rate_limit: '--token-rate-limit',
  amount_usd: '--amount',
  limit_usd: '--limit',
  scope: '--scope',
  id: '--id',
  period: '--period',
};

/** Numbers as numbers; anything else as typed, for the handler to reject with the field's name. */
function numeric(value: string | boolean | undefined): number | string | undefined {
  if (typeof value !== 'string') return undefined;
  return /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value;
}

const durationUnitsMs: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `--expires`: `30d`, `12h`, `90m` from now, Unix seconds, or an ISO 8601 date or date-time. */
function expiresAt(value: string | boolean | undefined, clock: Clock): number | string | undefined {
  if (typeof value !== 'string') return undefined;
  const relative = /^(\d+)([mhd])$/.exec(value);
  if (relative) {
    const ms = Number(relative[1]) * (durationUnitsMs[relative[2] as string] as number);
    return Math.floor((clock.now() + ms) / 1000);
  }
  return numeric(value);
}

/** A required reference taken from a flag or else the first positional argument. */
function reference(values: Values, positionals: string[], flag: string, what: string): string {
  const value = values[flag] ?? positionals[0];
  if (typeof value !== 'string' || value.length === 0)
    throw new GatewayError('missing_required_parameter', { param: what }, { param: flag });
  return value;
}

const text = (value: string | boolean | undefined): string | undefined =>
  typeof value === 'string' ? value : undefined;
const isoOf = (seconds: number | null): string =>
  seconds === null ? '-' : new Date(seconds * 1000).toISOString();
const usdOf = (amount: number): string => formatUsd(Math.round(amount * 1_000_000));
const rows = (io: CliIo, lines: string[][]): void => {
  for (const line of lines) io.out(`${line.join('\t')}\n`);
};

function printOrganization(org: admin.OrganizationView, io: CliIo): void {
  io.out(`${org.id}\t${org.name}\t${org.disabled ? 'disabled' : 'active'}\n`);
}

function printKey(key: admin.ApiKeyView, io: CliIo): void {
  rows(io, [[key.id, `${key.prefix}…`, key.name, key.status, key.org_id ?? '-', key.project_id ?? '-']]);
}

function printBalance(balance: admin.BalanceView, io: CliIo): void {
  io.out(
    `${balance.org_id}: balance ${usdOf(balance.balance_usd)}, reserved ${usdOf(balance.reserved_usd)}, ` +
      `available ${usdOf(balance.available_usd)}${balance.configured ? '' : ' (billing not configured)'}\n`,
  );
}

const subcommands: Record<string, Record<string, Subcommand>> = {
  orgs: {
    create: {
      usage: 'orgs create <name> [--rate-limit N] [--token-rate-limit N]',
      options: { name: { type: 'string' }, ...limitOptions },
      run: (context, values, positionals) =>
        admin.createOrganization(context, {
          name: values.name ?? positionals[0],
          rate_limit: numeric(values['rate-limit']),
          token_rate_limit: numeric(values['token-rate-limit']),
        }),
      print: (org: admin.CreatedOrganization, io) => {
        printOrganization(org, io);
        io.err(`Created organization '${org.name}' with project 'default' (${org.default_project.id}).\n`);
      },
    },
    list: {
      usage: 'orgs list',
      run: (context) => admin.listOrganizations(context),
      print: (list: admin.ListView<admin.OrganizationView>, io) => {
        for (const org of list.data) printOrganization(org, io);
      },
    },
    show: {
      usage: 'orgs show <id|name>',
      options: orgOption,
      run: async (context, values, positionals) => {
        const org = await admin.getOrganization(context, reference(values, positionals, 'org', 'org'));
        const [projects, balance] = await Promise.all([
          admin.listProjects(context, org.id),
          admin.getBalance(context, org.id),
        ]);
        return { ...org, projects: projects.data, balance };
      },
      print: (
        org: admin.OrganizationView & { projects: admin.ProjectView[]; balance: admin.BalanceView },
        io,
      ) => {
        printOrganization(org, io);
        io.out(
          `  rate limit: ${org.rate_limit ?? 'default'}; token rate limit: ${org.token_rate_limit ?? 'none'}\n`,
        );
        for (const project of org.projects) io.out(`  project ${project.id}\t${project.name}\n`);
        io.out('  ');
        printBalance(org.balance, io);
      },
    },
    disable: {
      usage: 'orgs disable <id|name>',
      options: orgOption,
      run: (context, values, positionals) =>
        admin.disableOrganization(context, reference(values, positionals, 'org', 'org')),
      print: printOrganization,
    },
    enable: {
      usage: 'orgs enable <id|name>',
      options: orgOption,
      run: (context, values, positionals) =>
        admin.enableOrganization(context, reference(values, positionals, 'org', 'org')),
      print: printOrganization,
    },
  },
  projects: {
    create: {
      usage: 'projects create --org <id|name> <name>',
      options: { ...orgOption, name: { type: 'string' } },
      run: (context, values, positionals) =>
        admin.createProject(context, reference(values, [], 'org', 'org'), {
          name: values.name ?? positionals[0],
        }),
      print: (project: admin.ProjectView, io) => io.out(`${project.id}\t${project.name}\n`),
    },
    list: {
      usage: 'projects list --org <id|name>',
      options: orgOption,
      run: (context, values, positionals) =>
        admin.listProjects(context, reference(values, positionals, 'org', 'org')),
      print: (list: admin.ListView<admin.ProjectView>, io) =>
        rows(
          io,
          list.data.map((project) => [project.id, project.name]),
        ),
    },
  },
  keys: {
    create: {
      usage:
        'keys create (--org <id|name> | --project <id>) [--name NAME] [--expires 30d|ISO-8601|UNIX-SECONDS]\n' +
        '            [--rate-limit N] [--token-rate-limit N]',
      options: {
        ...orgOption,
        project: { type: 'string' },
        name: { type: 'string' },
        expires: { type: 'string' },
        ...limitOptions,
      },
      run: (context, values, _positionals, clock) =>
        admin.createKey(context, {
          org: values.org,
          project: values.project,
          name: values.name,
          expires_at: expiresAt(values.expires, clock),
          rate_limit: numeric(values['rate-limit']),
          token_rate_limit: numeric(values['token-rate-limit']),
        }),
      print: (key: admin.CreatedApiKey, io) => {
        // The key alone on stdout, so `KEY=$(maniac-gateway keys create --org acme)` works.
        io.out(`${key.key}\n`);
        io.err(
          `Created ${key.id} ('${key.name}', org ${key.org_id}, project ${key.project_id}` +
            `${key.expires_at === null ? '' : `, expires ${isoOf(key.expires_at)}`}). ` +
            'Store the key now: it is shown only once.\n',
        );
      },
    },
    list: {
      usage: 'keys list [--org <id|name>]',
      options: orgOption,
      run: (context, values) => admin.listKeys(context, { org: text(values.org) }),
      print: (list: admin.ListView<admin.ApiKeyView>, io) => {
        for (const key of list.data) printKey(key, io);
      },
    },
    disable: {
      usage: 'keys disable <key_id>',
      options: { id: { type: 'string' } },
      run: (context, values, positionals) =>
        admin.disableKey(context, reference(values, positionals, 'id', 'id')),
      print: printKey,
    },
    revoke: {
      usage: 'keys revoke <key_id>',
      options: { id: { type: 'string' } },
      run: (context, values, positionals) =>
        admin.revokeKey(context, reference(values, positionals, 'id', 'id')),
      print: printKey,
    },
  },
  credits: {
    add: {
      usage: 'credits add --org <id|name> --amount <usd> [--note TEXT]',
      options: { ...orgOption, amount: { type: 'string' }, note: { type: 'string' } },
      run: (context, values, positionals) =>
        admin.addCredits(context, reference(values, [], 'org', 'org'), {
          amount_usd: numeric(values.amount ?? positionals[0]),
          note: values.note,
        }),
      print: (credit: admin.CreditView, io) => {
        io.out(`Added ${usdOf(credit.amount_usd)}. `);
        printBalance(credit, io);
      },
    },
    balance: {
      usage: 'credits balance --org <id|name>',
      options: orgOption,
      run: (context, values, positionals) =>
        admin.getBalance(context, reference(values, positionals, 'org', 'org')),
      print: printBalance,
    },
  },
  budgets: {
    set: {
      usage: 'budgets set --scope org|project|key --id <id> --period day|month|total --limit <usd>',
      options: {
        scope: { type: 'string' },
        id: { type: 'string' },
        period: { type: 'string' },
        limit: { type: 'string' },
      },
      run: (context, values) =>
        admin.setBudget(context, {
          scope: values.scope,
          id: values.id,
          period: values.period,
          limit_usd: numeric(values.limit),
        }),
      print: (budget: admin.BudgetView, io) =>
        io.out(`${budget.scope} ${budget.scope_id}: ${budget.period} limit ${usdOf(budget.limit_usd)}\n`),
    },
    list: {
      usage: 'budgets list [--org <id|name>]',
      options: orgOption,
      run: (context, values) => admin.listBudgets(context, { org: text(values.org) }),
      print: (list: admin.ListView<admin.BudgetView>, io) =>
        rows(
          io,
          list.data.map((budget) => [
            budget.scope,
            budget.scope_id,
            budget.period,
            `limit ${usdOf(budget.limit_usd)}`,
            `spent ${usdOf(budget.spent_usd)}`,
          ]),
        ),
    },
  },
};

const commonUsage =
  'Options: --json, --database-url URL (also MANIAC_DATABASE_URL), -c/--config FILE, -h/--help\n';

function usageOf(command: string, subcommand?: string): string {
  const group = subcommands[command] ?? {};
  const lines = subcommand === undefined ? Object.values(group) : [group[subcommand] as Subcommand];
  return `Usage:\n${lines.map((entry) => `  maniac-gateway ${entry.usage}\n`).join('')}\n${commonUsage}`;
}

/**
 * Publishes revocations on Redis for the gateways' key caches; loads ioredis and connects on first
 * use only.
 */
function redisRevocations(url: string | undefined, io: CliIo) {
  let redis: Redis | undefined;
  return {
    async revoke(id: string): Promise<void> {
      if (url === undefined) return;
      const [{ Redis }, { revocationChannel }] = await Promise.all([
        import('ioredis'),
        import('../auth/redis-revocation-bus.js'),
      ]);
      redis ??= new Redis(url, {
        lazyConnect: true,
        connectTimeout: 5_000,
        maxRetriesPerRequest: 1,
        retryStrategy: () => null,
      }).on('error', () => {});
      try {
        await redis.publish(revocationChannel, id);
      } catch (error) {
        io.err(
          `maniac-gateway: warning: could not broadcast to Redis (${(error as Error).message}); ` +
            'gateways apply the change within auth.cacheTtlSeconds\n',
        );
      }
    },
    async close(): Promise<void> {
      if (redis?.status === 'ready') await redis.quit();
      else redis?.disconnect();
    },
  };
}

function messageOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const param = error instanceof GatewayError ? error.param : null;
  const flag = param === null ? undefined : (flagOf[param] ?? (param.startsWith('-') ? param : undefined));
  return flag === undefined ? error.message : `${error.message} (${flag})`;
}

/**
 * `orgs`, `projects`, `keys`, `credits` and `budgets` (SPEC §13.2): parses argv and calls the
 * admin handlers the HTTP API uses, on the store named by `--database-url`, MANIAC_DATABASE_URL or
 * the config. Returns the exit code, or `undefined` for a command that is not one of these.
 */
export async function runManagementCommand(
  command: string,
  args: string[],
  io: CliIo,
  env: NodeJS.ProcessEnv = process.env,
  clock: Clock = systemClock,
): Promise<number | undefined> {
  const group = subcommands[command];
  if (group === undefined) return undefined;
  const [name, ...rest] = args;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out(usageOf(command));
    return name === undefined ? 2 : 0;
  }
  const subcommand = group[name];
  if (subcommand === undefined) {
    io.err(`maniac-gateway: unknown command '${command} ${name}'\n\n${usageOf(command)}`);
    return 2;
  }
  let parsed: { values: Values; positionals: string[] };
  try {
    parsed = parseArgs({
      args: rest,
      options: { ...commonOptions, ...subcommand.options },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    io.err(`maniac-gateway: ${messageOf(error)}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.out(usageOf(command, name));
    return 0;
  }
  let closeAll: () => Promise<void> = async () => {};
  try {
    const config = loadConfig({
      configPath: text(values.config),
      env,
      overrides: typeof values['database-url'] === 'string' ? { databaseUrl: values['database-url'] } : {},
    });
    const store = await createStore(config.storage.databaseUrl, { clock });
    const revocations = redisRevocations(config.rateLimit.redisUrl, io);
    closeAll = async () => {
      await Promise.all([store.close(), revocations.close()]);
    };
    const result = await subcommand.run(
      { store, revoke: revocations.revoke, clock },
      values,
      positionals,
      clock,
    );
    if (values.json) io.out(`${JSON.stringify(result)}\n`);
    else subcommand.print(result as never, io);
    return 0;
  } catch (error) {
    io.err(`maniac-gateway: ${messageOf(error)}\n`);
    return 1;
  } finally {
    await closeAll();
  }
}
