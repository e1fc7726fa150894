import type { ResponseObject } from '../api/wire/responses.js';
import { type ResponseEventSink, ResponseEventWriter } from './response-event-writer.js';

/**
 * The canonical event sequence of a finished response (SPEC §12.4 `GET …?stream=true`): the same
 * events a live stream has, with each part's full text in one delta, the stored item ids, and the
 * stored response in the terminal event. Background responses start with `response.queued`.
 */
export function replayResponse(stored: ResponseObject, sink: ResponseEventSink): void {
  const itemIds = stored.output.map((item) => item.id);
  let nextItem = 0;
  const { usage: _usage, ...rest } = stored;
  const skeleton: ResponseObject = {
    ...rest,
    status: stored.background ? 'queued' : 'in_progress',
    output: [],
    output_text: '',
    completed_at: null,
    error: null,
    incomplete_details: null,
  };
  const writer = new ResponseEventWriter(skeleton, {
    sink,
    newItemId: () => itemIds[nextItem++] ?? '',
    newToolCallId: () => '',
    nowSeconds: () => stored.completed_at ?? stored.created_at,
  });
  writer.created();
  writer.inProgress();
  let toolIndex = 0;
  for (const item of stored.output) {
    switch (item.type) {
      case 'reasoning':
        writer.reasoningText(item.summary.map((part) => part.text).join(''));
        break;
      case 'message':
        for (const part of item.content) {
          if (part.type === 'output_text') writer.messageText('output_text', part.text);
          else writer.messageText('refusal', part.refusal);
        }
        break;
      case 'function_call':
        writer.toolCall({
          index: toolIndex++,
          id: item.call_id,
          function: { name: item.name, arguments: item.arguments },
        });
        break;
    }
  }
  writer.terminate(stored);
}
