import { api, type ListEnvelope, queryString, type Trace } from '../api';
import { ErrorNotice, Loading, Notice } from '../components/feedback';
import { Pager } from '../components/pager';
import { formatInteger, formatTime } from '../format';
import { Link, navigate } from '../router';
import { useInterval, useResource } from '../use-resource';

const pageSize = 20;

export function TracesPage({ query }: { query: URLSearchParams }) {
  const offset = Number(query.get('offset') ?? 0) || 0;
  const traces = useResource(`traces:${offset}`, (signal) =>
    api<ListEnvelope<Trace>>(`/v1/traces${queryString({ limit: pageSize, offset })}`, { signal }),
  );
  useInterval(traces.reload, 5000, offset === 0);
  const list = traces.data;

  return (
    <section>
      <h1 tabIndex={-1}>Traces</h1>
      <p class="hint">
        Requests sent with a <code>trace</code> object (or a <code>traceparent</code> header), grouped by
        trace id, most recently active first.
      </p>
      <ErrorNotice error={traces.error} title="Could not load traces" />
      {list === undefined ? (
        traces.error ? null : (
          <Loading />
        )
      ) : list.data.length === 0 ? (
        <Notice>No traces yet.</Notice>
      ) : (
        <>
          <div class="table-scroll">
            <table class="responsive">
              <caption class="visually-hidden">Traces</caption>
              <thead>
                <tr>
                  <th scope="col">Trace</th>
                  <th scope="col">Last seen</th>
                  <th scope="col">First seen</th>
                  <th scope="col">Requests</th>
                  <th scope="col">Containers</th>
                  <th scope="col">Errors</th>
                </tr>
              </thead>
              <tbody>
                {list.data.map((trace) => (
                  <tr key={trace.id}>
                    <td data-label="Trace">
                      <Link to={`/traces/${encodeURIComponent(trace.id)}`}>{trace.name ?? trace.id}</Link>
                      {trace.name ? <div class="muted mono small">{trace.id}</div> : null}
                    </td>
                    <td data-label="Last seen">{formatTime(Date.parse(trace.last_seen))}</td>
                    <td data-label="First seen">{formatTime(Date.parse(trace.first_seen))}</td>
                    <td data-label="Requests">{formatInteger(trace.request_count)}</td>
                    <td data-label="Containers">{formatInteger(trace.container_count)}</td>
                    <td data-label="Errors" class={trace.error_count > 0 ? 'text-error' : undefined}>
                      {formatInteger(trace.error_count)}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <Pager
            label="Traces"
            offset={offset}
            limit={pageSize}
            total={list.total ?? list.data.length}
            shown={list.data.length}
            onChange={(next) => navigate(`/traces${queryString({ offset: next || undefined })}`)}
          />
        </>
      )}
    </section>
  );
}
