import { type ApiKey, api, type ListEnvelope, queryString, type UsageRow } from '../api';
import { useModels } from '../catalog';
import { BarChart, type ChartSeries } from '../components/bar-chart';
import { ErrorNotice, Loading, Notice } from '../components/feedback';
import { dash, formatDay, formatHour, formatInteger, formatPercent, formatUsd } from '../format';
import { navigate } from '../router';
import { credential } from '../session';
import { useResource } from '../use-resource';

const day = 86_400;
const hour = 3_600;

/** The start of each UTC day from the day of `from` to the day of `to` (Unix seconds). */
export function dayBuckets(from: number, to: number): number[] {
  const buckets: number[] = [];
  for (let start = from - (from % day); start <= to; start += day) buckets.push(start);
  return buckets;
}

function hourBuckets(from: number, to: number): number[] {
  const buckets: number[] = [];
  for (let start = from - (from % hour); start <= to; start += hour) buckets.push(start);
  return buckets;
}

type RangeName = '24h' | '7d' | '30d';
const ranges: Record<RangeName, { label: string; seconds: number; grouping: 'hour' | 'day' }> = {
  '24h': { label: 'Last 24 hours', seconds: 23 * hour, grouping: 'hour' },
  '7d': { label: 'Last 7 days', seconds: 6 * day, grouping: 'day' },
  '30d': { label: 'Last 30 days', seconds: 29 * day, grouping: 'day' },
};

interface UsageData {
  buckets: number[];
  series: UsageRow[];
  byModel: UsageRow[];
  byKey: UsageRow[];
  /** Per bucket, the requests of each of the busiest models. */
  perModel: { model: string; rows: UsageRow[] }[];
  keyNames: Map<string, string>;
}

const topModels = 5;

async function loadUsage(range: RangeName, model: string, signal: AbortSignal): Promise<UsageData> {
  const { seconds, grouping } = ranges[range];
  const to = Math.floor(Date.now() / 1000);
  const from =
    grouping === 'day' ? to - seconds - ((to - seconds) % day) : to - seconds - ((to - seconds) % hour);
  const get = (query: Record<string, string | number | undefined>) =>
    api<ListEnvelope<UsageRow>>(`/v1/usage${queryString({ from, to, ...query })}`, { signal }).then(
      (list) => list.data,
    );
  const [series, byModel, byKey] = await Promise.all([
    get({ group_by: grouping, model: model || undefined }),
    get({ group_by: 'model' }),
    get({ group_by: 'key', model: model || undefined }),
  ]);
  const busiest = model
    ? []
    : [...byModel]
        .filter((row) => row.model)
        .sort((left, right) => right.requests - left.requests)
        .slice(0, topModels);
  const perModel = await Promise.all(
    busiest.map(async (row) => ({
      model: row.model as string,
      rows: await get({ group_by: grouping, model: row.model as string }),
    })),
  );
  const keyNames = new Map<string, string>();
  if (credential('admin') !== undefined) {
    const keys = await api<ListEnvelope<ApiKey>>('/admin/v1/keys', { as: 'admin', signal }).catch(
      () => undefined,
    );
    for (const key of keys?.data ?? []) keyNames.set(key.id, `${key.name} (${key.prefix}…)`);
  }
  const buckets = grouping === 'day' ? dayBuckets(from, to) : hourBuckets(from, to);
  return { buckets, series, byModel, byKey, perModel, keyNames };
}

function valuesOf(buckets: number[], rows: UsageRow[], pick: (row: UsageRow) => number): number[] {
  const byStart = new Map(rows.map((row) => [row.start, row]));
  return buckets.map((start) => {
    const row = byStart.get(start);
    return row ? pick(row) : 0;
  });
}

function BreakdownTable({
  title,
  rows,
  nameOf,
}: {
  title: string;
  rows: UsageRow[];
  nameOf(row: UsageRow): string;
}) {
  return (
    <div class="table-scroll">
      <table class="responsive">
        <caption>{title}</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Requests</th>
            <th scope="col">Errors</th>
            <th scope="col">Error rate</th>
            <th scope="col">Prompt tokens</th>
            <th scope="col">Completion tokens</th>
            <th scope="col">Cost</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={nameOf(row)}>
              <th scope="row" data-label="Name" class="mono">
                {nameOf(row)}
              </th>
              <td data-label="Requests">{formatInteger(row.requests)}</td>
              <td data-label="Errors">{formatInteger(row.errors)}</td>
              <td data-label="Error rate">
                {row.requests ? formatPercent(row.errors / row.requests) : dash}
              </td>
              <td data-label="Prompt tokens">{formatInteger(row.prompt_tokens)}</td>
              <td data-label="Completion tokens">{formatInteger(row.completion_tokens)}</td>
              <td data-label="Cost">{formatUsd(row.cost_usd)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function UsagePage({ query }: { query: URLSearchParams }) {
  const rangeParameter = query.get('range') as RangeName | null;
  const range: RangeName = rangeParameter && rangeParameter in ranges ? rangeParameter : '30d';
  const model = query.get('model') ?? '';
  const models = useModels();
  const usage = useResource(`usage:${range}:${model}`, (signal) => loadUsage(range, model, signal));
  const data = usage.data;
  const grouping = ranges[range].grouping;
  const labelOf = grouping === 'day' ? formatDay : formatHour;
  const unit = grouping === 'day' ? 'day' : 'hour';

  const go = (next: { range?: RangeName; model?: string }) =>
    navigate(`/usage${queryString({ range: next.range ?? range, model: next.model ?? model })}`);

  let requestSeries: ChartSeries[] = [];
  if (data) {
    const totals = valuesOf(data.buckets, data.series, (row) => row.requests);
    if (data.perModel.length > 0) {
      requestSeries = data.perModel.map((entry) => ({
        name: entry.model,
        values: valuesOf(data.buckets, entry.rows, (row) => row.requests),
      }));
      const other = totals.map(
        (total, index) => total - requestSeries.reduce((sum, series) => sum + (series.values[index] ?? 0), 0),
      );
      if (other.some((value) => value > 0)) requestSeries.push({ name: 'Other models', values: other });
    } else requestSeries = [{ name: model || 'Requests', values: totals }];
  }

  return (
    <section>
      <h1 tabIndex={-1}>Usage</h1>
      <form class="filters card" aria-label="Usage range" onSubmit={(event) => event.preventDefault()}>
        <div class="field">
          <label for="usage-range">Period</label>
          <select
            id="usage-range"
            value={range}
            onChange={(event) => go({ range: event.currentTarget.value as RangeName })}
          >
            {Object.entries(ranges).map(([name, entry]) => (
              <option key={name} value={name}>
                {entry.label}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="usage-model">Model</label>
          <select
            id="usage-model"
            value={model}
            onChange={(event) => go({ model: event.currentTarget.value })}
          >
            <option value="">All models</option>
            {(models.data ?? []).map((id) => (
              <option key={id} value={id}>
                {id}
              </option>
            ))}
          </select>
        </div>
      </form>
      <ErrorNotice error={usage.error} title="Could not load usage" />
      {data === undefined ? (
        usage.error ? null : (
          <Loading />
        )
      ) : (
        <>
          {data.series.length === 0 ? <Notice>No traffic in this period.</Notice> : null}
          <div class="charts">
            <BarChart
              title={`Requests per ${unit}${data.perModel.length > 0 ? ' by model' : ''}`}
              categories={data.buckets.map(labelOf)}
              series={requestSeries}
              format={formatInteger}
            />
            <BarChart
              title={`Tokens per ${unit}`}
              categories={data.buckets.map(labelOf)}
              series={[
                { name: 'Prompt', values: valuesOf(data.buckets, data.series, (row) => row.prompt_tokens) },
                {
                  name: 'Completion',
                  values: valuesOf(data.buckets, data.series, (row) => row.completion_tokens),
                },
              ]}
              format={formatInteger}
            />
            <BarChart
              title={`Cost per ${unit}`}
              categories={data.buckets.map(labelOf)}
              series={[{ name: 'Cost', values: valuesOf(data.buckets, data.series, (row) => row.cost_usd) }]}
              format={formatUsd}
            />
            <BarChart
              title={`Error rate per ${unit}`}
              categories={data.buckets.map(labelOf)}
              series={[
                {
                  name: 'Error rate',
                  values: valuesOf(data.buckets, data.series, (row) =>
                    row.requests ? row.errors / row.requests : 0,
                  ),
                },
              ]}
              format={formatPercent}
            />
          </div>
          <BreakdownTable title="By model" rows={data.byModel} nameOf={(row) => row.model ?? 'unknown'} />
          <BreakdownTable
            title="By key"
            rows={data.byKey}
            nameOf={(row) => (row.key_id ? (data.keyNames.get(row.key_id) ?? row.key_id) : 'unknown')}
          />
        </>
      )}
    </section>
  );
}
