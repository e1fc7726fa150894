import type { Principal } from '../auth/principal.js';
import type { Clock } from '../clock.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { Ids } from '../ids.js';
import type { Store } from '../store/repositories.js';
import { newRequestRecord, type RequestRecord } from '../telemetry/request-event.js';
import type { ChatCompletionsHandler } from './chat-completions.js';
import { type PendingGeneration, recordGeneration } from './completions.js';
import type { ChatCompletion } from './wire/chat.js';

export interface RegisteredGenerationDeps {
  chatCompletions: Pick<ChatCompletionsHandler, 'handle'>;
  store: Pick<Store, 'registeredCompletions'>;
  ids: Ids;
  clock: Clock;
  /** Emits the request event of the generation (billed and logged like any request). */
  onFinished(generation: {
    requestId: string;
    principal: Principal;
    record: RequestRecord;
    status: number;
    latencyMs: number;
    receivedAtMs: number;
  }): void;
  onError(error: unknown): void;
}

/**
 * Generates a registered item that came without `output` (SPEC §11.1): its input runs through the
 * chat pipeline as the registrant, billed and logged as one request, and the item is completed or
 * failed with the outcome.
 */
export function createRegisteredGenerator(deps: RegisteredGenerationDeps): (item: PendingGeneration) => void {
  return (item) => {
    void generate(deps, item).catch(deps.onError);
  };
}

async function generate(deps: RegisteredGenerationDeps, item: PendingGeneration): Promise<void> {
  const receivedAtMs = deps.clock.now();
  const startedAt = deps.clock.monotonic();
  const requestId = deps.ids.request(receivedAtMs);
  const record = newRequestRecord('chat.completions.register');
  const principal: Principal = {
    ...item.registrant,
    isInternal: false,
    keyRateLimit: null,
    keyTokenRateLimit: null,
    orgRateLimit: null,
    orgTokenRateLimit: null,
  };
  let status = 200;
  try {
    const result = await deps.chatCompletions.handle(
      { ...item.request, stream: false },
      { requestId, principal, signal: new AbortController().signal, receivedAtMs, record },
    );
    if (result.kind !== 'json') throw new GatewayError('internal_error');
    const completion = JSON.parse(result.body) as ChatCompletion;
    await recordGeneration(deps.store, item, {
      status: 'completed',
      completion,
      costUsd: record.costUsd ?? null,
    });
  } catch (error) {
    const failure = error instanceof GatewayError ? error : new GatewayError('internal_error');
    status = failure.status;
    record.outcome = 'error';
    record.errorType = failure.type;
    record.errorCode = failure.wireCode;
    await recordGeneration(deps.store, item, {
      status: 'failed',
      error: { code: failure.wireCode, message: failure.message },
    });
  } finally {
    deps.onFinished({
      requestId,
      principal,
      record,
      status,
      latencyMs: deps.clock.monotonic() - startedAt,
      receivedAtMs,
    });
  }
}
