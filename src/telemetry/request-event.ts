import type { Usage } from '../api/wire/chat.js';
import type { Attempt } from '../routing/dispatch.js';

export type Outcome = 'success' | 'error' | 'client_disconnected' | 'stream_error';

/**
 * What the api layer learns while serving one request; the http layer completes it with status and
 * timing and turns it into the one request event of SPEC §10.
 */
export interface RequestRecord {
  endpoint: string;
  eventId?: string;
  modelRequested?: string;
  model?: string;
  provider?: string;
  upstreamModel?: string;
  upstreamId?: string;
  container?: string;
  attempts: Attempt[];
  stream: boolean;
  finishReason?: string;
  usage?: Usage;
  usageSource?: 'upstream' | 'estimated';
  costUsd?: number | null;
  ttftMs?: number;
  upstreamLatencyMs?: number;
  outcome?: Outcome;
  errorType?: string;
  errorCode?: string;
  tags?: string[];
  metadata?: Record<string, unknown>;
  trace?: Record<string, unknown>;
  store?: boolean;
  requestBody?: unknown;
  responseBody?: unknown;
  /** Set by streams once their last frame is written, so the http layer can finish the record. */
  status?: number;
}

export function newRequestRecord(endpoint: string): RequestRecord {
  return { endpoint, attempts: [], stream: false };
}
