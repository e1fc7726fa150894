import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { parseArgs } from 'node:util';
import { completionFiltersOf, exportCompletions } from '../api/completions.js';
import type { QueryParameters } from '../api/platform-schemas.js';
import { combinedUsage, toUsageEntry, usageFiltersOf } from '../api/usage.js';
import { loadConfig } from '../config/config.js';
import { createStore } from '../store/create-store.js';
import type { Store } from '../store/repositories.js';
import type { CliIo } from './cli.js';

export const platformUsage: Record<'usage' | 'export', string> = {
  usage: `Usage: maniac-gateway usage (--org <id|name> | --project <id>) [options]

Requests, errors, tokens and cost from the request log (SPEC §11.4). With --org, every project of
the organization is added together.

Options:
  --org ID|NAME        Organization (all its projects)
  --project ID         One project
  --group-by G         day (default) | hour | model | container | key
  --from T, --to T     Unix seconds or an ISO date/time (default: the last 30 days)
  --model ID           Only this served model
  --container LABEL    Only this container
  --json               {"object":"list","data":[…],"total":n}
  -c, --config FILE    Configuration file; --database-url URL overrides the database
`,
  export: `Usage: maniac-gateway export completions (--org <id|name> | --project <id>) [options]

Write stored completions as JSONL in the chat fine-tuning format: one {"messages":[…]} per line,
the stored answer appended as the last assistant message. Newest first; read from the database a
page at a time. Pending, failed and purged items are skipped and counted on stderr.

Options:
  --org ID|NAME        Organization (all its projects)
  --project ID         One project
  --container LABEL, --model ID, --tag TAG (repeatable, all must match), --trace-id ID,
  --status completed|pending|failed, --source gateway|register,
  --from T, --to T     Unix seconds or an ISO date/time
  -o, --output FILE    Write here instead of stdout
  -c, --config FILE    Configuration file; --database-url URL overrides the database
`,
};

const scopeOptions = {
  config: { type: 'string', short: 'c' },
  'database-url': { type: 'string' },
  org: { type: 'string' },
  project: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  model: { type: 'string' },
  container: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Unix seconds as given, or an ISO date/time converted to Unix seconds. */
function unixSecondsOption(name: string, value: string | undefined): string | undefined {
  if (value === undefined || /^\d+$/.test(value)) return value;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new Error(`--${name}: expected Unix seconds or an ISO date, got '${value}'`);
  return String(Math.floor(ms / 1000));
}

function queryOf(values: Record<string, string | string[] | undefined>): QueryParameters {
  const query: Record<string, string | string[]> = {};
  for (const [key, value] of Object.entries(values)) if (value !== undefined) query[key] = value;
  return query;
}

async function openStore(values: { config?: string; 'database-url'?: string }): Promise<Store> {
  const config = loadConfig({
    configPath: values.config,
    ...(values['database-url'] === undefined ? {} : { overrides: { databaseUrl: values['database-url'] } }),
  });
  return createStore(config.storage.databaseUrl);
}

/** The projects `--org` or `--project` names; exactly one of the two. */
async function projectsOf(store: Store, values: { org?: string; project?: string }): Promise<string[]> {
  if ((values.org === undefined) === (values.project === undefined)) {
    throw new Error('give exactly one of --org <id|name> or --project <id>');
  }
  if (values.project !== undefined) {
    const project = await store.projects.find(values.project);
    if (!project) throw new Error(`unknown project '${values.project}'`);
    return [project.id];
  }
  const organization = await store.organizations.findByIdOrName(values.org as string);
  if (!organization) throw new Error(`unknown organization '${values.org}'`);
  return (await store.projects.list(organization.id)).map((project) => project.id);
}

function groupLabel(entry: ReturnType<typeof toUsageEntry>, groupBy: string): string {
  if (groupBy === 'day') return new Date(entry.start * 1000).toISOString().slice(0, 10);
  if (groupBy === 'hour') return `${new Date(entry.start * 1000).toISOString().slice(0, 13)}:00Z`;
  const value = groupBy === 'key' ? entry.key_id : groupBy === 'model' ? entry.model : entry.container;
  return value ?? '-';
}

async function usageCommand(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { ...scopeOptions, 'group-by': { type: 'string' }, json: { type: 'boolean' } },
  });
  if (values.help) {
    io.out(platformUsage.usage);
    return 0;
  }
  const store = await openStore(values);
  try {
    const projects = await projectsOf(store, values);
    const filters = usageFiltersOf(
      queryOf({
        from: unixSecondsOption('from', values.from),
        to: unixSecondsOption('to', values.to),
        group_by: values['group-by'],
        model: values.model,
        container: values.container,
      }),
      Date.now(),
    );
    const rows = (await combinedUsage(store, projects, filters)).map(toUsageEntry);
    if (values.json) {
      io.out(`${JSON.stringify({ object: 'list', data: rows, total: rows.length })}\n`);
      return 0;
    }
    const header = [filters.groupBy, 'requests', 'errors', 'prompt_tokens', 'completion_tokens'];
    io.out(`${[...header, 'cached_tokens', 'reasoning_tokens', 'cost_usd'].join('\t')}\n`);
    for (const row of rows) {
      const cells = [groupLabel(row, filters.groupBy), row.requests, row.errors, row.prompt_tokens];
      io.out(
        `${[...cells, row.completion_tokens, row.cached_tokens, row.reasoning_tokens, row.cost_usd].join('\t')}\n`,
      );
    }
    return 0;
  } finally {
    await store.close();
  }
}

/** Lines to a file with back-pressure, or to stdout through `io`. */
function lineWriter(path: string | undefined, io: CliIo) {
  if (path === undefined) return { write: (line: string) => io.out(line), close: async () => {} };
  const file = createWriteStream(path, { encoding: 'utf8' });
  const failed = once(file, 'error');
  failed.catch(() => {});
  return {
    async write(line: string) {
      if (!file.write(line)) await Promise.race([once(file, 'drain'), failed]);
    },
    async close() {
      file.end();
      await Promise.race([once(file, 'finish'), failed]);
    },
  };
}

async function exportCommand(args: string[], io: CliIo): Promise<number> {
  const [subject, ...rest] = args;
  if (subject !== 'completions') {
    const isHelp = subject === '--help' || subject === '-h';
    (isHelp ? io.out : io.err)(platformUsage.export);
    return isHelp ? 0 : 2;
  }
  const { values } = parseArgs({
    args: rest,
    options: {
      ...scopeOptions,
      tag: { type: 'string', multiple: true },
      'trace-id': { type: 'string' },
      status: { type: 'string' },
      source: { type: 'string' },
      output: { type: 'string', short: 'o' },
    },
  });
  if (values.help) {
    io.out(platformUsage.export);
    return 0;
  }
  const store = await openStore(values);
  try {
    const query = queryOf({
      container: values.container,
      model: values.model,
      tag: values.tag,
      trace_id: values['trace-id'],
      from: unixSecondsOption('from', values.from),
      to: unixSecondsOption('to', values.to),
      status: values.status,
      source: values.source,
    });
    const filters = (await projectsOf(store, values)).map((projectId) =>
      completionFiltersOf(query, projectId),
    );
    const writer = lineWriter(values.output, io);
    let result: { exported: number; skipped: number };
    try {
      result = await exportCompletions(store, filters, (line) => writer.write(line));
    } finally {
      await writer.close();
    }
    io.err(
      `exported ${result.exported} completions (${result.skipped} skipped: pending, failed or purged)\n`,
    );
    return 0;
  } finally {
    await store.close();
  }
}

/**
 * `maniac-gateway usage …` and `maniac-gateway export completions …`; `undefined` for any other
 * command. Failures print one line and exit 1.
 */
export async function runPlatformCommand(
  command: string,
  args: string[],
  io: CliIo,
): Promise<number | undefined> {
  if (command !== 'usage' && command !== 'export') return undefined;
  try {
    return command === 'usage' ? await usageCommand(args, io) : await exportCommand(args, io);
  } catch (error) {
    io.err(`maniac-gateway: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}
