import { useState } from 'preact/hooks';
import { api, type Container, type ListEnvelope, queryString, type UsageRow } from '../api';
import { useModels } from '../catalog';
import { BarChart } from '../components/bar-chart';
import { ErrorNotice, Facts, Loading, Notice } from '../components/feedback';
import { dash, formatDay, formatInteger, formatTime } from '../format';
import { listRequests } from '../request-source';
import { Link, navigate } from '../router';
import { useAction } from '../use-action';
import { useResource } from '../use-resource';
import { ModelOptions } from './containers-page';
import { RequestTable, requestsPath } from './requests-page';
import { dayBuckets } from './usage-page';

function EditForm({ container, onSaved }: { container: Container; onSaved(next: Container): void }) {
  const models = useModels();
  const [model, setModel] = useState(container.model);
  const [prompt, setPrompt] = useState(container.system_prompt ?? '');
  const action = useAction();
  const [saved, setSaved] = useState(false);
  const isChanged = model !== container.model || prompt !== (container.system_prompt ?? '');

  const onSubmit = async (event: Event) => {
    event.preventDefault();
    setSaved(false);
    const body: Record<string, unknown> = {};
    if (model !== container.model) body.model = model;
    if (prompt !== (container.system_prompt ?? '')) body.system_prompt = prompt === '' ? null : prompt;
    if (Object.keys(body).length === 0) return;
    let next: Container | undefined;
    const isDone = await action.run(async () => {
      next = await api<Container>(`/v1/containers/${encodeURIComponent(container.label)}`, {
        method: 'PATCH',
        body,
      });
    });
    if (isDone && next) {
      setSaved(true);
      onSaved(next);
    }
  };

  const choices = models.data?.includes(container.model)
    ? models.data
    : [container.model, ...(models.data ?? [])];
  return (
    <form class="card form-grid" onSubmit={onSubmit} aria-label="Edit container">
      <h2>Model and system prompt</h2>
      <div class="field">
        <label for="edit-model">Model</label>
        <select id="edit-model" value={model} onChange={(event) => setModel(event.currentTarget.value)}>
          <ModelOptions models={choices} />
        </select>
      </div>
      <div class="field wide">
        <label for="edit-prompt">System prompt</label>
        <textarea
          id="edit-prompt"
          rows={5}
          value={prompt}
          onInput={(event) => setPrompt(event.currentTarget.value)}
        />
      </div>
      <ErrorNotice error={action.error} title="Not saved" />
      <div class="actions">
        <button type="submit" class="primary" disabled={action.isPending}>
          Save changes
        </button>
        <span role="status" class="muted">
          {saved && !isChanged ? 'Saved.' : ''}
        </span>
      </div>
    </form>
  );
}

function Traffic({ label }: { label: string }) {
  const now = Math.floor(Date.now() / 1000);
  const from = now - 13 * 86_400 - (now % 86_400);
  const usage = useResource(`container-usage:${label}`, (signal) =>
    api<ListEnvelope<UsageRow>>(`/v1/usage${queryString({ group_by: 'day', container: label, from })}`, {
      signal,
    }),
  );
  const recent = useResource(`container-requests:${label}`, (signal) =>
    listRequests(
      {
        model: '',
        container: label,
        tags: [],
        status: '',
        traceId: '',
        from: undefined,
        to: undefined,
        limit: 10,
        offset: 0,
      },
      signal,
    ),
  );
  const days = dayBuckets(from, now);
  const byStart = new Map((usage.data?.data ?? []).map((row) => [row.start, row]));
  return (
    <section class="card" aria-label="Traffic">
      <h2>Traffic</h2>
      <ErrorNotice error={usage.error ?? recent.error} title="Could not load traffic" />
      {usage.data ? (
        <BarChart
          title="Requests per day, last 14 days"
          categories={days.map(formatDay)}
          series={[
            {
              name: 'Succeeded',
              values: days.map((day) => {
                const row = byStart.get(day);
                return row ? row.requests - row.errors : 0;
              }),
            },
            { name: 'Failed', values: days.map((day) => byStart.get(day)?.errors ?? 0) },
          ]}
          format={formatInteger}
        />
      ) : null}
      <h3>Recent requests</h3>
      {recent.data === undefined ? (
        <Loading />
      ) : recent.data.rows.length === 0 ? (
        <Notice>No requests through this container yet.</Notice>
      ) : (
        <RequestTable rows={recent.data.rows} caption={`Recent requests through ${label}`} />
      )}
      <p>
        <Link to={requestsPath({ container: label })}>All requests of this container</Link>
      </p>
    </section>
  );
}

export function ContainerPage({ label }: { label: string }) {
  const loaded = useResource(`container:${label}`, (signal) =>
    api<Container>(`/v1/containers/${encodeURIComponent(label)}`, { signal }),
  );
  const [edited, setEdited] = useState<Container | undefined>(undefined);
  const container = edited ?? loaded.data;
  const [isConfirming, setConfirming] = useState(false);
  const remove = useAction();

  const onDelete = async () => {
    const isDone = await remove.run(() =>
      api(`/v1/containers/${encodeURIComponent(label)}`, { method: 'DELETE' }),
    );
    if (isDone) navigate('/containers');
  };

  return (
    <section>
      <p class="breadcrumb">
        <Link to="/containers">Containers</Link> /
      </p>
      <h1 tabIndex={-1}>{label}</h1>
      <ErrorNotice error={loaded.error} title="Could not load this container" />
      {container === undefined ? (
        loaded.error ? null : (
          <Loading />
        )
      ) : (
        <>
          <div class="card">
            <Facts
              items={[
                ['Id', <span class="mono">{container.id}</span>],
                ['Model', <span class="mono">{container.model}</span>],
                ['Initial model', <span class="mono">{container.initial_model}</span>],
                ['Deployed model', <span class="mono">{container.deployed_model ?? dash}</span>],
                ['Attached models', <span class="mono">{container.models.join(', ')}</span>],
                ['Created', formatTime(container.created_at * 1000)],
                ['Updated', formatTime(container.updated_at * 1000)],
              ]}
            />
          </div>
          <EditForm key={container.id} container={container} onSaved={setEdited} />
          <Traffic label={label} />
          <section class="card danger-zone" aria-label="Delete container">
            <h2>Delete</h2>
            <p>Deleting a container removes its route and the completions registered to it.</p>
            <ErrorNotice error={remove.error} title="Not deleted" />
            {isConfirming ? (
              <div class="actions">
                <button type="button" class="danger" onClick={onDelete} disabled={remove.isPending}>
                  Confirm delete
                </button>
                <button type="button" onClick={() => setConfirming(false)}>
                  Cancel
                </button>
              </div>
            ) : (
              <button type="button" class="danger" onClick={() => setConfirming(true)}>
                Delete container
              </button>
            )}
          </section>
        </>
      )}
    </section>
  );
}
