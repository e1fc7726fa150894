import { useRef, useState } from 'preact/hooks';
import { ApiError, type ChatMessage, send, type ToolCall, type Usage } from '../api';
import { useContainerLabels, useModels } from '../catalog';
import { Message } from '../components/conversation';
import { ErrorNotice, Facts } from '../components/feedback';
import { dash, formatInteger, formatMs } from '../format';
import { Link } from '../router';
import { readSseJson } from '../sse';
import { ModelOptions } from './containers-page';

interface ChunkDelta {
  content?: string | null;
  reasoning?: string | null;
  tool_calls?: { index: number; id?: string; function?: { name?: string; arguments?: string } }[];
}

interface Chunk {
  id?: string;
  model?: string;
  provider?: string;
  choices?: { delta?: ChunkDelta; finish_reason?: string | null; message?: ChatMessage }[];
  usage?: Usage | null;
  error?: { message?: string; code?: string };
}

interface RunStats {
  id: string | undefined;
  model: string | undefined;
  provider: string | undefined;
  ttftMs: number | undefined;
  totalMs: number | undefined;
  finishReason: string | undefined;
  usage: Usage | undefined;
}

const emptyStats: RunStats = {
  id: undefined,
  model: undefined,
  provider: undefined,
  ttftMs: undefined,
  totalMs: undefined,
  finishReason: undefined,
  usage: undefined,
};

/** Sends chat requests through this gateway with the signed-in key and shows the answer as it streams. */
export function PlaygroundPage() {
  const models = useModels();
  const containers = useContainerLabels();
  const [model, setModel] = useState('');
  const [system, setSystem] = useState('');
  const [input, setInput] = useState('');
  const [temperature, setTemperature] = useState('');
  const [maxTokens, setMaxTokens] = useState('');
  const [tags, setTags] = useState('playground');
  const [shouldStream, setStream] = useState(true);
  const [history, setHistory] = useState<ChatMessage[]>([]);
  const [answer, setAnswer] = useState<ChatMessage | undefined>(undefined);
  const [stats, setStats] = useState<RunStats>(emptyStats);
  const [error, setError] = useState<Error | undefined>(undefined);
  const [isRunning, setRunning] = useState(false);
  const abort = useRef<AbortController | undefined>(undefined);
  const chosenModel = model || models.data?.[0] || '';

  const run = async (event: Event) => {
    event.preventDefault();
    if (!chosenModel || !input.trim() || isRunning) return;
    const userMessage: ChatMessage = { role: 'user', content: input };
    const conversation = [...history, userMessage];
    const messages = system.trim() ? [{ role: 'system', content: system }, ...conversation] : conversation;
    const tagList = tags
      .split(',')
      .map((tag) => tag.trim())
      .filter(Boolean);
    const body: Record<string, unknown> = {
      model: chosenModel,
      messages,
      stream: shouldStream,
      ...(shouldStream ? { stream_options: { include_usage: true } } : {}),
      ...(temperature ? { temperature: Number(temperature) } : {}),
      ...(maxTokens ? { max_completion_tokens: Number(maxTokens) } : {}),
      ...(tagList.length ? { tags: tagList } : {}),
    };
    const controller = new AbortController();
    abort.current = controller;
    setHistory(conversation);
    setInput('');
    setError(undefined);
    setRunning(true);
    setStats(emptyStats);
    const started = performance.now();
    let text = '';
    let reasoning = '';
    const toolCalls: ToolCall[] = [];
    let current: RunStats = { ...emptyStats };
    const show = () => {
      setAnswer({
        role: 'assistant',
        content: text,
        ...(reasoning ? { reasoning } : {}),
        ...(toolCalls.length
          ? { tool_calls: toolCalls.map((call) => ({ ...call, function: { ...call.function } })) }
          : {}),
      });
      setStats({ ...current });
    };
    setAnswer({ role: 'assistant', content: '' });
    try {
      const response = await send('/v1/chat/completions', {
        method: 'POST',
        body,
        signal: controller.signal,
      });
      if (!shouldStream) {
        const completion = (await response.json()) as Chunk;
        const message = completion.choices?.[0]?.message;
        text = typeof message?.content === 'string' ? message.content : '';
        reasoning = message?.reasoning ?? '';
        toolCalls.push(...(message?.tool_calls ?? []));
        current = {
          id: completion.id,
          model: completion.model,
          provider: completion.provider,
          ttftMs: undefined,
          totalMs: performance.now() - started,
          finishReason: completion.choices?.[0]?.finish_reason ?? undefined,
          usage: completion.usage ?? undefined,
        };
        show();
      } else if (response.body) {
        for await (const value of readSseJson(response.body)) {
          const chunk = value as Chunk;
          if (chunk.error)
            throw new ApiError(chunk.error.message ?? 'The stream failed.', 200, chunk.error.code ?? null);
          current.id ??= chunk.id;
          current.model ??= chunk.model;
          current.provider ??= chunk.provider;
          if (chunk.usage) current.usage = chunk.usage;
          const choice = chunk.choices?.[0];
          const delta = choice?.delta;
          if (delta?.content || delta?.reasoning || delta?.tool_calls)
            current.ttftMs ??= performance.now() - started;
          if (delta?.content) text += delta.content;
          if (delta?.reasoning) reasoning += delta.reasoning;
          for (const fragment of delta?.tool_calls ?? []) {
            let call = toolCalls[fragment.index];
            if (!call) {
              call = { id: fragment.id, type: 'function', function: { name: '', arguments: '' } };
              toolCalls[fragment.index] = call;
            }
            if (fragment.id) call.id = fragment.id;
            if (fragment.function?.name && call.function) call.function.name = fragment.function.name;
            if (fragment.function?.arguments && call.function)
              call.function.arguments = (call.function.arguments ?? '') + fragment.function.arguments;
          }
          if (choice?.finish_reason) current.finishReason = choice.finish_reason;
          show();
        }
        current.totalMs = performance.now() - started;
        show();
      }
      setHistory([
        ...conversation,
        { role: 'assistant', content: text, ...(toolCalls.length ? { tool_calls: toolCalls } : {}) },
      ]);
      setAnswer(undefined);
    } catch (failure) {
      if (controller.signal.aborted) {
        current.totalMs = performance.now() - started;
        setError(new Error('Stopped.'));
      } else setError(failure instanceof Error ? failure : new Error(String(failure)));
      if (text) setHistory([...conversation, { role: 'assistant', content: text }]);
      setAnswer(undefined);
      setStats({ ...current });
    } finally {
      setRunning(false);
      abort.current = undefined;
    }
  };

  return (
    <section>
      <h1 tabIndex={-1}>Playground</h1>
      <p class="hint">
        Requests go through this gateway with your organisation key and are billed and logged like any other.
      </p>
      <form class="card form-grid" onSubmit={run} aria-label="Chat request">
        <div class="field">
          <label for="playground-model">Model</label>
          <select
            id="playground-model"
            value={chosenModel}
            onChange={(event) => setModel(event.currentTarget.value)}
          >
            <optgroup label="Catalog models">
              <ModelOptions models={models.data} />
            </optgroup>
            {containers.data && containers.data.length > 0 ? (
              <optgroup label="Containers">
                {containers.data.map((label) => (
                  <option key={label} value={`maniac:${label}`}>
                    {label} (container)
                  </option>
                ))}
              </optgroup>
            ) : null}
          </select>
        </div>
        <div class="field">
          <label for="playground-temperature">Temperature</label>
          <input
            id="playground-temperature"
            type="number"
            min="0"
            max="2"
            step="0.1"
            inputMode="decimal"
            value={temperature}
            onInput={(event) => setTemperature(event.currentTarget.value)}
          />
        </div>
        <div class="field">
          <label for="playground-max-tokens">Max tokens</label>
          <input
            id="playground-max-tokens"
            type="number"
            min="1"
            step="1"
            inputMode="numeric"
            value={maxTokens}
            onInput={(event) => setMaxTokens(event.currentTarget.value)}
          />
        </div>
        <div class="field">
          <label for="playground-tags">Tags</label>
          <input id="playground-tags" value={tags} onInput={(event) => setTags(event.currentTarget.value)} />
        </div>
        <div class="field wide">
          <label for="playground-system">System prompt</label>
          <textarea
            id="playground-system"
            rows={2}
            value={system}
            onInput={(event) => setSystem(event.currentTarget.value)}
          />
        </div>
        <div class="field wide">
          <label for="playground-message">Message</label>
          <textarea
            id="playground-message"
            rows={4}
            required
            value={input}
            onInput={(event) => setInput(event.currentTarget.value)}
            onKeyDown={(event) => {
              // Ctrl/Cmd+Enter sends, as in most chat tools; plain Enter adds a line.
              if (event.key === 'Enter' && (event.ctrlKey || event.metaKey))
                event.currentTarget.form?.requestSubmit();
            }}
            aria-describedby="playground-message-hint"
          />
          <span id="playground-message-hint" class="hint">
            Ctrl+Enter sends.
          </span>
        </div>
        <label class="toggle">
          <input
            type="checkbox"
            checked={shouldStream}
            onChange={(event) => setStream(event.currentTarget.checked)}
          />
          Stream the answer
        </label>
        <div class="actions">
          <button type="submit" class="primary" disabled={isRunning || !chosenModel}>
            {isRunning ? 'Sending…' : 'Send'}
          </button>
          <button type="button" disabled={!isRunning} onClick={() => abort.current?.abort()}>
            Stop
          </button>
          <button
            type="button"
            disabled={isRunning || history.length === 0}
            onClick={() => {
              setHistory([]);
              setStats(emptyStats);
              setError(undefined);
            }}
          >
            New conversation
          </button>
        </div>
      </form>
      <section class="card" aria-label="Conversation" aria-busy={isRunning}>
        <h2>Conversation</h2>
        {history.length === 0 && !answer ? <p class="muted">Nothing sent yet.</p> : null}
        <ol class="conversation playground-output">
          {history.map((message, index) => (
            <Message key={index} message={message} />
          ))}
          {answer ? <Message message={answer} label="Assistant (streaming)" /> : null}
        </ol>
        <ErrorNotice error={error} title="Request failed" />
        <div role="status" aria-live="polite" class="visually-hidden">
          {isRunning ? '' : stats.finishReason ? `Answer complete: ${stats.finishReason}.` : ''}
        </div>
        {stats.id ? (
          <Facts
            items={[
              [
                'Request',
                stats.id ? <Link to={`/requests/${encodeURIComponent(stats.id)}`}>{stats.id}</Link> : dash,
              ],
              ['Served by', <span class="mono">{`${stats.model ?? dash} · ${stats.provider ?? dash}`}</span>],
              ['Time to first token', formatMs(stats.ttftMs)],
              ['Total time', formatMs(stats.totalMs)],
              ['Finish reason', stats.finishReason ?? dash],
              [
                'Tokens',
                stats.usage
                  ? `${formatInteger(stats.usage.prompt_tokens)} prompt + ${formatInteger(stats.usage.completion_tokens)} completion`
                  : dash,
              ],
            ]}
          />
        ) : null}
      </section>
    </section>
  );
}
