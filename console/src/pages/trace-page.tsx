import { api, type TraceDetail, type TraceRequest } from '../api';
import { ErrorNotice, Facts, Loading } from '../components/feedback';
import { StatusBadge } from '../components/tags';
import { dash, formatInteger, formatMs, formatTime } from '../format';
import { Link } from '../router';
import { useResource } from '../use-resource';
import { requestsPath } from './requests-page';

/**
 * One bar per request on a shared time axis: where it starts is when the gateway received it, its
 * length the latency; failed requests are drawn in the error colour. Plain HTML with percentage
 * offsets, so it stays legible from a phone to a wide screen.
 */
function Timeline({ requests }: { requests: TraceRequest[] }) {
  const starts = requests.map((request) => Date.parse(request.ts));
  const origin = Math.min(...starts);
  const end = Math.max(...requests.map((request, index) => (starts[index] as number) + request.latency_ms));
  const span = Math.max(1, end - origin);
  const errors = requests.filter((request) => request.status >= 400).length;
  return (
    <div class="timeline">
      <ol aria-label={`Timeline of ${requests.length} requests over ${formatMs(span)}, ${errors} failed`}>
        {requests.map((request, index) => {
          const offsetMs = (starts[index] as number) - origin;
          const left = (offsetMs / span) * 100;
          const width = Math.max(0.5, (request.latency_ms / span) * 100);
          const isError = request.status >= 400;
          return (
            <li key={`${request.id}-${index}`} class="timeline-row">
              <span class="timeline-label mono">{request.model ?? request.endpoint}</span>
              <span class="timeline-track">
                <span
                  class={`timeline-bar ${isError ? 'bar-error' : 'bar-ok'}`}
                  style={{
                    marginLeft: `${Math.min(left, 99.5)}%`,
                    width: `${Math.min(width, 100 - Math.min(left, 99.5))}%`,
                  }}
                />
              </span>
              <span class="timeline-value">
                {formatMs(request.latency_ms)}
                <span class="visually-hidden">
                  {`, starting at +${formatMs(offsetMs)}, status ${request.status}${request.error_code ? ` ${request.error_code}` : ''}`}
                </span>
              </span>
            </li>
          );
        })}
      </ol>
      <div class="timeline-scale" aria-hidden="true">
        <span>0</span>
        <span>{formatMs(span)}</span>
      </div>
    </div>
  );
}

export function TracePage({ id }: { id: string }) {
  const trace = useResource(`trace:${id}`, (signal) =>
    api<TraceDetail>(`/v1/traces/${encodeURIComponent(id)}`, { signal }),
  );
  const data = trace.data;
  const origin = data && data.requests.length > 0 ? Date.parse((data.requests[0] as TraceRequest).ts) : 0;

  return (
    <section>
      <p class="breadcrumb">
        <Link to="/traces">Traces</Link> /
      </p>
      <h1 tabIndex={-1} class="wrap">
        {data?.name ?? id}
      </h1>
      <ErrorNotice error={trace.error} title="Could not load this trace" />
      {data === undefined ? (
        trace.error ? null : (
          <Loading />
        )
      ) : (
        <>
          <div class="card">
            <Facts
              items={[
                ['Trace id', <span class="mono">{data.id}</span>],
                ['Source', data.source ?? dash],
                ['First seen', formatTime(Date.parse(data.first_seen))],
                ['Last seen', formatTime(Date.parse(data.last_seen))],
                ['Requests', formatInteger(data.request_count)],
                ['Errors', formatInteger(data.error_count)],
              ]}
            />
            <p>
              <Link to={requestsPath({ traceId: data.id })}>Requests of this trace</Link>
            </p>
          </div>
          <section class="card" aria-label="Timeline">
            <h2>Timeline</h2>
            {data.requests.length > 0 ? <Timeline requests={data.requests} /> : <p>No requests.</p>}
            <div class="table-scroll">
              <table class="responsive">
                <caption class="visually-hidden">Requests of this trace, oldest first</caption>
                <thead>
                  <tr>
                    <th scope="col">#</th>
                    <th scope="col">Start</th>
                    <th scope="col">Request</th>
                    <th scope="col">Model</th>
                    <th scope="col">Container</th>
                    <th scope="col">Status</th>
                    <th scope="col">Latency</th>
                    <th scope="col">Span</th>
                  </tr>
                </thead>
                <tbody>
                  {data.requests.map((request, index) => (
                    <tr key={`${request.id}-${index}`}>
                      <td data-label="#">{index + 1}</td>
                      <td data-label="Start">+{formatMs(Date.parse(request.ts) - origin)}</td>
                      <td data-label="Request" class="mono">
                        {request.id.startsWith('chatcmpl-') ? (
                          <Link to={`/requests/${encodeURIComponent(request.id)}`}>{request.id}</Link>
                        ) : (
                          request.id
                        )}
                      </td>
                      <td data-label="Model" class="mono">
                        {request.model ?? dash}
                      </td>
                      <td data-label="Container">{request.container ?? dash}</td>
                      <td data-label="Status">
                        <StatusBadge
                          kind={request.status >= 400 ? 'error' : 'ok'}
                          label={
                            request.error_code
                              ? `${request.status} ${request.error_code}`
                              : String(request.status)
                          }
                        />
                      </td>
                      <td data-label="Latency">{formatMs(request.latency_ms)}</td>
                      <td data-label="Span" class="mono small">
                        {request.span_id ?? dash}
                        {request.parent_span_id ? ` ← ${request.parent_span_id}` : ''}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </section>
        </>
      )}
    </section>
  );
}
