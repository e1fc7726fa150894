import type { ErrorEnvelope } from '../errors/gateway-error.js';

/**
 * The only place that knows chat SSE framing (SPEC §3.5, §9.5): one `data:` line per event, a blank
 * line after it, `[DONE]` at the end, and after the first byte an error is a terminal `data:` frame
 * followed by `[DONE]`.
 */
export const sseDone = 'data: [DONE]\n\n';
export const sseKeepAlive = ': keepalive\n';

export function sseData(json: string): string {
  return `data: ${json}\n\n`;
}

export function sseErrorThenDone(envelope: ErrorEnvelope): string {
  return `data: ${JSON.stringify(envelope)}\n\n${sseDone}`;
}

/** Named-event framing of the Responses API (SPEC §12.4). */
export function sseNamedEvent(type: string, json: string): string {
  return `event: ${type}\ndata: ${json}\n\n`;
}
