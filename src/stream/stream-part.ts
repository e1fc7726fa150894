import type { ChunkDelta, FinishReason, Usage } from '../api/wire/chat.js';
import type { GatewayError } from '../errors/gateway-error.js';

/**
 * What a provider's stream mapper emits, whatever the vendor's wire format. The chat chunk writer
 * turns parts into OpenAI chunks and enforces the chunk invariants (SPEC §3.4) in one place.
 *
 * - `delta`: content, reasoning, refusal or tool-call fragments. Tool-call fragments carry the
 *   vendor's index (or only an id); the writer renumbers them 0..k-1.
 * - `finish`: the vendor's stop, already mapped to an OpenAI finish reason.
 * - `usage`: token counts; the last one seen wins.
 * - `metadata`: upstream ids, kept for telemetry.
 * - `error`: an in-band failure; the stream ends after it.
 */
export type StreamPart =
  | { type: 'delta'; delta: ChunkDelta; logprobs?: unknown }
  | { type: 'finish'; finishReason: FinishReason }
  | { type: 'usage'; usage: Usage }
  | { type: 'metadata'; upstreamId?: string; systemFingerprint?: string }
  | { type: 'error'; error: GatewayError };
