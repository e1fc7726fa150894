import { useState } from 'preact/hooks';
import { queryString } from '../api';
import { useContainerLabels, useModels } from '../catalog';
import { ErrorNotice, Loading, Notice } from '../components/feedback';
import { Pager } from '../components/pager';
import { StatusBadge, TagList } from '../components/tags';
import {
  dash,
  formatInteger,
  formatMs,
  formatTime,
  formatUsd,
  toLocalDateTime,
  toUnixSeconds,
} from '../format';
import { listRequests, type RequestFilters, type RequestRow, type StatusFilter } from '../request-source';
import { Link, navigate } from '../router';
import { useInterval, useResource } from '../use-resource';

const pageSize = 20;
/** How often the first page is read again while "Live" is on. */
export const livePollMs = 2000;

function intOf(value: string | null): number | undefined {
  if (value === null || !/^\d+$/.test(value)) return undefined;
  return Number(value);
}

export function filtersFromQuery(query: URLSearchParams): RequestFilters {
  const status = query.get('status') ?? '';
  return {
    model: query.get('model') ?? '',
    container: query.get('container') ?? '',
    tags: query.getAll('tag').filter(Boolean),
    status: (['success', 'error', 'pending'].includes(status) ? status : '') as StatusFilter,
    traceId: query.get('trace_id') ?? '',
    from: intOf(query.get('from')),
    to: intOf(query.get('to')),
    limit: pageSize,
    offset: intOf(query.get('offset')) ?? 0,
  };
}

/** The console URL of a filtered request list (filters are not secrets, so they live in the URL). */
export function requestsPath(filters: Partial<RequestFilters>): string {
  return `/requests${queryString({
    model: filters.model,
    container: filters.container,
    tag: filters.tags,
    status: filters.status,
    trace_id: filters.traceId,
    from: filters.from,
    to: filters.to,
    offset: filters.offset ? filters.offset : undefined,
  })}`;
}

function FilterForm({ filters }: { filters: RequestFilters }) {
  const models = useModels();
  const containers = useContainerLabels();
  const [model, setModel] = useState(filters.model);
  const [container, setContainer] = useState(filters.container);
  const [tags, setTags] = useState(filters.tags.join(', '));
  const [status, setStatus] = useState<StatusFilter>(filters.status);
  const [traceId, setTraceId] = useState(filters.traceId);
  const [from, setFrom] = useState(toLocalDateTime(filters.from === undefined ? null : String(filters.from)));
  const [to, setTo] = useState(toLocalDateTime(filters.to === undefined ? null : String(filters.to)));

  const onSubmit = (event: Event) => {
    event.preventDefault();
    navigate(
      requestsPath({
        model: model.trim(),
        container: container.trim(),
        tags: tags
          .split(',')
          .map((tag) => tag.trim())
          .filter(Boolean),
        status,
        traceId: traceId.trim(),
        from: toUnixSeconds(from),
        // The end of the chosen minute, so "to 12:05" includes 12:05:30.
        to: to ? (toUnixSeconds(to) ?? 0) + 59 : undefined,
      }),
    );
  };

  return (
    <form class="filters card" onSubmit={onSubmit} aria-label="Filter requests">
      <div class="field">
        <label for="filter-model">Model</label>
        <input
          id="filter-model"
          list="filter-model-options"
          value={model}
          onInput={(event) => setModel(event.currentTarget.value)}
        />
        <datalist id="filter-model-options">
          {(models.data ?? []).map((id) => (
            <option key={id} value={id} />
          ))}
        </datalist>
      </div>
      <div class="field">
        <label for="filter-container">Container</label>
        <input
          id="filter-container"
          list="filter-container-options"
          value={container}
          onInput={(event) => setContainer(event.currentTarget.value)}
        />
        <datalist id="filter-container-options">
          {(containers.data ?? []).map((label) => (
            <option key={label} value={label} />
          ))}
        </datalist>
      </div>
      <div class="field">
        <label for="filter-tag">Tags</label>
        <input
          id="filter-tag"
          aria-describedby="filter-tag-hint"
          value={tags}
          onInput={(event) => setTags(event.currentTarget.value)}
        />
        <span id="filter-tag-hint" class="hint">
          Comma-separated; all must match.
        </span>
      </div>
      <div class="field">
        <label for="filter-status">Status</label>
        <select
          id="filter-status"
          value={status}
          onChange={(event) => setStatus(event.currentTarget.value as StatusFilter)}
        >
          <option value="">Any</option>
          <option value="success">Succeeded</option>
          <option value="error">Failed</option>
          <option value="pending">Pending</option>
        </select>
      </div>
      <div class="field">
        <label for="filter-from">From</label>
        <input
          id="filter-from"
          type="datetime-local"
          value={from}
          onInput={(event) => setFrom(event.currentTarget.value)}
        />
      </div>
      <div class="field">
        <label for="filter-to">To</label>
        <input
          id="filter-to"
          type="datetime-local"
          value={to}
          onInput={(event) => setTo(event.currentTarget.value)}
        />
      </div>
      <div class="field">
        <label for="filter-trace">Trace id</label>
        <input id="filter-trace" value={traceId} onInput={(event) => setTraceId(event.currentTarget.value)} />
      </div>
      <div class="actions">
        <button type="submit" class="primary">
          Apply filters
        </button>
        <button type="button" onClick={() => navigate('/requests')}>
          Clear
        </button>
      </div>
    </form>
  );
}

export function RequestTable({ rows, caption }: { rows: RequestRow[]; caption: string }) {
  return (
    <div class="table-scroll">
      <table class="responsive requests-table">
        <caption class="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            <th scope="col">Time</th>
            <th scope="col">Model</th>
            <th scope="col">Provider</th>
            <th scope="col">Container</th>
            <th scope="col">Status</th>
            <th scope="col">Latency</th>
            <th scope="col">TTFT</th>
            <th scope="col">Tokens</th>
            <th scope="col">Cost</th>
            <th scope="col">Tags</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={row.id} data-request-id={row.id}>
              <td data-label="Time">
                <Link to={`/requests/${encodeURIComponent(row.id)}`} aria-label={`Request ${row.id}`}>
                  {formatTime(row.createdMs)}
                </Link>
              </td>
              <td data-label="Model" class="mono">
                {row.model ?? dash}
              </td>
              <td data-label="Provider">{row.provider ?? dash}</td>
              <td data-label="Container">{row.container ?? dash}</td>
              <td data-label="Status">
                <StatusBadge kind={row.statusKind} label={row.statusLabel} />
              </td>
              <td data-label="Latency">{formatMs(row.latencyMs)}</td>
              <td data-label="TTFT">{formatMs(row.ttftMs)}</td>
              <td
                data-label="Tokens"
                title={
                  row.tokens ? `${row.tokens.prompt} prompt + ${row.tokens.completion} completion` : undefined
                }
              >
                {row.tokens ? formatInteger(row.tokens.total) : dash}
              </td>
              <td data-label="Cost">{formatUsd(row.costUsd)}</td>
              <td data-label="Tags">
                <TagList tags={row.tags} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function RequestsPage({ query }: { query: URLSearchParams }) {
  const filters = filtersFromQuery(query);
  const key = JSON.stringify(filters);
  const [isLive, setLive] = useState(true);
  const requests = useResource(key, (signal) => listRequests(filters, signal));
  // Only the first page follows new traffic; a later page would shift under the reader.
  useInterval(requests.reload, livePollMs, isLive && filters.offset === 0);
  const page = requests.data;
  const isFiltered =
    filters.model || filters.container || filters.tags.length || filters.status || filters.traceId;

  return (
    <section>
      <div class="page-heading">
        <h1 tabIndex={-1}>Requests</h1>
        <label class="toggle">
          <input
            type="checkbox"
            checked={isLive}
            onChange={(event) => setLive(event.currentTarget.checked)}
          />
          Live
        </label>
      </div>
      <FilterForm key={key} filters={filters} />
      <ErrorNotice error={requests.error} title="Could not load requests" />
      {page === undefined ? (
        requests.error ? null : (
          <Loading />
        )
      ) : (
        <>
          <p class="muted" role="status">
            {formatInteger(page.total)} {page.total === 1 ? 'request' : 'requests'}
            {isFiltered ? ' match these filters' : ''}
          </p>
          {page.rows.length === 0 ? (
            <Notice>
              No requests yet{isFiltered ? ' for these filters' : ''}. Requests made with this project’s keys
              appear here as they finish.
            </Notice>
          ) : (
            <RequestTable rows={page.rows} caption="Recent requests, newest first" />
          )}
          <Pager
            label="Requests"
            offset={filters.offset}
            limit={filters.limit}
            total={page.total}
            shown={page.rows.length}
            onChange={(offset) => navigate(requestsPath({ ...filters, offset }))}
          />
          {page.source === 'completions' ? (
            <p class="hint">
              This gateway lists stored completions: successful requests sent with <code>store: true</code>.
              Failed requests, latency and time to first token appear once it serves{' '}
              <code>GET /v1/requests</code>.
            </p>
          ) : null}
        </>
      )}
    </section>
  );
}
