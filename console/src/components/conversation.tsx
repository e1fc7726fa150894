import type { ChatMessage, ContentPart, ToolCall } from '../api';
import { prettyArguments } from '../format';

const roleNames: Record<string, string> = {
  system: 'System',
  developer: 'Developer',
  user: 'User',
  assistant: 'Assistant',
  tool: 'Tool result',
  function: 'Function result',
};

function Part({ part }: { part: ContentPart }) {
  switch (part.type) {
    case 'text':
      return <p class="message-text">{part.text}</p>;
    case 'refusal':
      return <p class="message-text refusal">Refusal: {part.refusal}</p>;
    case 'image_url': {
      const url = part.image_url?.url ?? '';
      // Remote images are not fetched: the console loads nothing from outside its own origin.
      if (url.startsWith('data:image/'))
        return <img class="message-image" src={url} alt="Attachment sent in the message" />;
      return <p class="muted">Image: {url}</p>;
    }
    case 'input_audio':
      return <p class="muted">Audio input ({part.input_audio?.format ?? 'unknown format'})</p>;
    case 'file':
      return <p class="muted">File: {part.file?.filename ?? part.file?.file_id ?? 'inline data'}</p>;
    default:
      return <p class="muted">{part.type} part</p>;
  }
}

function ToolCalls({ calls }: { calls: ToolCall[] }) {
  return (
    <ul class="tool-calls" aria-label="Tool calls">
      {calls.map((call, index) => (
        <li key={call.id ?? index} class="tool-call">
          <div>
            <span class="tool-name">{call.function?.name ?? 'tool'}</span>{' '}
            <span class="muted mono">{call.id}</span>
          </div>
          <pre class="mono">{prettyArguments(call.function?.arguments)}</pre>
        </li>
      ))}
    </ul>
  );
}

export function Message({ message, label }: { message: ChatMessage; label?: string }) {
  const content = message.content;
  return (
    <li class={`message message-${message.role}`}>
      <div class="message-role">
        {label ?? roleNames[message.role] ?? message.role}
        {message.name ? <span class="muted"> ({message.name})</span> : null}
        {message.tool_call_id ? <span class="muted mono"> for {message.tool_call_id}</span> : null}
      </div>
      {message.reasoning ? (
        <details class="reasoning">
          <summary>Reasoning</summary>
          <p class="message-text">{message.reasoning}</p>
        </details>
      ) : null}
      {typeof content === 'string' ? <p class="message-text">{content}</p> : null}
      {Array.isArray(content) ? content.map((part, index) => <Part key={index} part={part} />) : null}
      {message.refusal ? <p class="message-text refusal">Refusal: {message.refusal}</p> : null}
      {message.tool_calls && message.tool_calls.length > 0 ? <ToolCalls calls={message.tool_calls} /> : null}
    </li>
  );
}

/** The request's messages, then the answer, as one conversation. */
export function Conversation({
  messages,
  answer,
}: {
  messages: ChatMessage[];
  answer: ChatMessage | undefined;
}) {
  return (
    <ol class="conversation" aria-label="Conversation">
      {messages.map((message, index) => (
        <Message key={index} message={message} />
      ))}
      {answer ? <Message message={answer} label="Assistant (answer)" /> : null}
    </ol>
  );
}
