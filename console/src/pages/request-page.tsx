import type { ComponentChildren } from 'preact';
import {
  ApiError,
  api,
  type RequestEventRow,
  type StoredCompletion,
  type TraceDetail,
  type TraceRequest,
} from '../api';
import { Conversation } from '../components/conversation';
import { ErrorNotice, Facts, Loading, Notice } from '../components/feedback';
import { JsonBlock } from '../components/json-block';
import { StatusBadge, TagList } from '../components/tags';
import { dash, formatInteger, formatMs, formatTime, formatUsd } from '../format';
import { requestEvent } from '../request-source';
import { Link } from '../router';
import { useResource } from '../use-resource';

interface RequestDetail {
  completion: StoredCompletion | undefined;
  event: RequestEventRow | undefined;
  /** The request's entry in its trace: latency and status when the gateway has no request log. */
  traceEntry: TraceRequest | undefined;
}

async function loadDetail(id: string, signal: AbortSignal): Promise<RequestDetail> {
  const [completion, event] = await Promise.all([
    api<StoredCompletion>(`/v1/chat/completions/${encodeURIComponent(id)}`, { signal }).catch(
      (error: unknown) => {
        if (error instanceof ApiError && error.status === 404) return undefined;
        throw error;
      },
    ),
    requestEvent(id, signal),
  ]);
  if (!completion && !event)
    throw new ApiError(`No request or stored completion with id '${id}'.`, 404, null);
  let traceEntry: TraceRequest | undefined;
  const traceId = event?.trace?.id ?? completion?.trace?.id;
  if (!event && traceId) {
    const trace = await api<TraceDetail>(`/v1/traces/${encodeURIComponent(traceId)}`, { signal }).catch(
      () => undefined,
    );
    traceEntry = trace?.requests.find((request) => request.id === id);
  }
  return { completion, event, traceEntry };
}

function Section({ title, children }: { title: string; children: ComponentChildren }) {
  return (
    <section class="card" aria-label={title}>
      <h2>{title}</h2>
      {children}
    </section>
  );
}

function responseOf(completion: StoredCompletion) {
  const { input: _input, tags: _tags, metadata: _metadata, trace: _trace, ...response } = completion;
  return response;
}

export function RequestPage({ id }: { id: string }) {
  const detail = useResource(`request:${id}`, (signal) => loadDetail(id, signal));
  const data = detail.data;
  const completion = data?.completion;
  const event = data?.event;
  const entry = data?.traceEntry;
  const traceId = event?.trace?.id ?? completion?.trace?.id;
  const container = event?.container ?? completion?.container;
  const usage = completion?.usage;
  const eventUsage = event?.usage;
  const status = event
    ? {
        kind: event.status >= 400 || event.outcome === 'stream_error' ? 'error' : 'ok',
        label: `${event.status} ${event.outcome}`,
      }
    : entry
      ? { kind: entry.status >= 400 ? 'error' : 'ok', label: String(entry.status) }
      : completion
        ? {
            kind:
              completion.status === 'failed' ? 'error' : completion.status === 'pending' ? 'pending' : 'ok',
            label: completion.status,
          }
        : undefined;
  const answer = completion?.choices[0]?.message;
  const messages = completion?.input?.messages ?? [];

  return (
    <section>
      <p class="breadcrumb">
        <Link to="/requests">Requests</Link> /
      </p>
      <h1 tabIndex={-1} class="mono wrap">
        {id}
      </h1>
      <ErrorNotice error={detail.error} title="Could not load this request" />
      {data === undefined ? (
        detail.error ? null : (
          <Loading />
        )
      ) : (
        <>
          <Section title="Summary">
            <Facts
              items={[
                [
                  'Time',
                  formatTime(
                    event?.ts ? Date.parse(event.ts) : (event?.created ?? completion?.created ?? 0) * 1000,
                  ),
                ],
                [
                  'Status',
                  status ? (
                    <StatusBadge kind={status.kind as 'ok' | 'error' | 'pending'} label={status.label} />
                  ) : (
                    dash
                  ),
                ],
                ['Model', <span class="mono">{event?.model ?? completion?.model ?? dash}</span>],
                [
                  'Requested model',
                  <span class="mono">{event?.model_requested ?? completion?.model_requested ?? dash}</span>,
                ],
                ['Provider', event?.provider ?? completion?.provider ?? dash],
                [
                  'Container',
                  container ? (
                    <Link to={`/containers/${encodeURIComponent(container)}`}>{container}</Link>
                  ) : (
                    dash
                  ),
                ],
                [
                  'Trace',
                  traceId ? <Link to={`/traces/${encodeURIComponent(traceId)}`}>{traceId}</Link> : dash,
                ],
                ['Tags', <TagList tags={event?.tags ?? completion?.tags ?? []} />],
                ['Cost', formatUsd(event?.cost_usd ?? completion?.cost_usd)],
                ...(event?.error_code
                  ? ([['Error', <span class="mono">{event.error_code}</span>]] as [
                      string,
                      ComponentChildren,
                    ][])
                  : []),
                ...(completion?.error
                  ? ([['Error', `${completion.error.code}: ${completion.error.message}`]] as [
                      string,
                      ComponentChildren,
                    ][])
                  : []),
              ]}
            />
          </Section>
          <Section title="Timing">
            <Facts
              items={[
                ['Latency', formatMs(event?.latency_ms ?? entry?.latency_ms)],
                ['Time to first token', formatMs(event?.ttft_ms)],
                ['Upstream latency', formatMs(event?.upstream_latency_ms)],
                ['Streamed', event?.stream === undefined ? dash : event.stream ? 'yes' : 'no'],
                ['Finish reason', event?.finish_reason ?? completion?.choices[0]?.finish_reason ?? dash],
                [
                  'Tokens',
                  eventUsage
                    ? `${formatInteger(eventUsage.prompt_tokens)} prompt + ${formatInteger(eventUsage.completion_tokens)} completion = ${formatInteger(eventUsage.total_tokens)}`
                    : usage
                      ? `${formatInteger(usage.prompt_tokens)} prompt + ${formatInteger(usage.completion_tokens)} completion = ${formatInteger(usage.total_tokens)}`
                      : dash,
                ],
                [
                  'Cached tokens',
                  formatInteger(eventUsage?.cached_tokens ?? usage?.prompt_tokens_details?.cached_tokens),
                ],
                [
                  'Reasoning tokens',
                  formatInteger(
                    eventUsage?.reasoning_tokens ?? usage?.completion_tokens_details?.reasoning_tokens,
                  ),
                ],
              ]}
            />
            {!event && !entry ? (
              <p class="hint">
                Latency and time to first token need the gateway’s request log (GET /v1/requests).
              </p>
            ) : null}
            {event?.attempts && event.attempts.length > 1 ? (
              <div class="table-scroll">
                <table>
                  <caption>Upstream attempts</caption>
                  <thead>
                    <tr>
                      <th scope="col">Model</th>
                      <th scope="col">Provider</th>
                      <th scope="col">Status</th>
                      <th scope="col">Error</th>
                      <th scope="col">Latency</th>
                    </tr>
                  </thead>
                  <tbody>
                    {event.attempts.map((attempt, index) => (
                      <tr key={index}>
                        <td class="mono">{attempt.model}</td>
                        <td>{attempt.provider}</td>
                        <td>{attempt.status}</td>
                        <td class="mono">{attempt.error_code ?? dash}</td>
                        <td>{formatMs(attempt.latency_ms)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            ) : null}
          </Section>
          <Section title="Conversation">
            {completion ? (
              <Conversation messages={messages} answer={answer} />
            ) : (
              <Notice>
                The bodies of this request were not stored (store: false, a failure, or past retention).
              </Notice>
            )}
          </Section>
          <Section title="Raw JSON">
            {completion ? <JsonBlock title="Request JSON" value={completion.input} /> : null}
            {completion ? <JsonBlock title="Response JSON" value={responseOf(completion)} /> : null}
            {event ? <JsonBlock title="Request log entry JSON" value={event} /> : null}
            {completion?.metadata ? <JsonBlock title="Metadata JSON" value={completion.metadata} /> : null}
          </Section>
        </>
      )}
    </section>
  );
}
