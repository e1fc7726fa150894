import { useState } from 'preact/hooks';
import { api, type Container, type ListEnvelope } from '../api';
import { useModels } from '../catalog';
import { ErrorNotice, Loading, Notice } from '../components/feedback';
import { formatTime } from '../format';
import { Link, navigate } from '../router';
import { useAction } from '../use-action';
import { useResource } from '../use-resource';

export function ModelOptions({ models }: { models: string[] | undefined }) {
  return (
    <>
      {(models ?? []).map((id) => (
        <option key={id} value={id}>
          {id}
        </option>
      ))}
    </>
  );
}

function CreateContainerForm() {
  const models = useModels();
  const [label, setLabel] = useState('');
  const [model, setModel] = useState('');
  const [prompt, setPrompt] = useState('');
  const action = useAction();

  const onSubmit = async (event: Event) => {
    event.preventDefault();
    let created: Container | undefined;
    const isDone = await action.run(async () => {
      created = await api<Container>('/v1/containers', {
        method: 'POST',
        body: {
          label: label.trim(),
          ...(model ? { initial_model: model } : {}),
          ...(prompt ? { initial_system_prompt: prompt } : {}),
        },
      });
    });
    if (isDone && created) navigate(`/containers/${encodeURIComponent(created.label)}`);
  };

  return (
    <form class="card form-grid" onSubmit={onSubmit} aria-label="Create a container">
      <h2>Create a container</h2>
      <div class="field">
        <label for="container-label">Label</label>
        <input
          id="container-label"
          required
          pattern="[A-Za-z0-9][A-Za-z0-9._\-]{0,63}"
          aria-describedby="container-label-hint"
          value={label}
          onInput={(event) => setLabel(event.currentTarget.value)}
        />
        <span id="container-label-hint" class="hint">
          Letters, digits, dot, dash, underscore; up to 64. Creating an existing label opens it unchanged.
        </span>
      </div>
      <div class="field">
        <label for="container-model">Model</label>
        <select id="container-model" value={model} onChange={(event) => setModel(event.currentTarget.value)}>
          <option value="">Gateway default</option>
          <ModelOptions models={models.data} />
        </select>
      </div>
      <div class="field wide">
        <label for="container-prompt">System prompt</label>
        <textarea
          id="container-prompt"
          rows={3}
          value={prompt}
          onInput={(event) => setPrompt(event.currentTarget.value)}
        />
      </div>
      <ErrorNotice error={action.error} title="Not created" />
      <div class="actions">
        <button type="submit" class="primary" disabled={action.isPending}>
          Create container
        </button>
      </div>
    </form>
  );
}

export function ContainersPage() {
  const containers = useResource('containers', (signal) =>
    api<ListEnvelope<Container>>('/v1/containers?limit=100', { signal }),
  );
  const list = containers.data;
  return (
    <section>
      <h1 tabIndex={-1}>Containers</h1>
      <p class="hint">
        A container is a named route with a model and a system prompt: send{' '}
        <code>"model": "maniac:&lt;label&gt;"</code> to use it.
      </p>
      <ErrorNotice error={containers.error} title="Could not load containers" />
      {list === undefined ? (
        containers.error ? null : (
          <Loading />
        )
      ) : list.data.length === 0 ? (
        <Notice>No containers yet.</Notice>
      ) : (
        <div class="table-scroll">
          <table class="responsive">
            <caption class="visually-hidden">Containers</caption>
            <thead>
              <tr>
                <th scope="col">Label</th>
                <th scope="col">Model</th>
                <th scope="col">System prompt</th>
                <th scope="col">Updated</th>
              </tr>
            </thead>
            <tbody>
              {list.data.map((container) => (
                <tr key={container.id}>
                  <td data-label="Label">
                    <Link to={`/containers/${encodeURIComponent(container.label)}`}>{container.label}</Link>
                  </td>
                  <td data-label="Model" class="mono">
                    {container.model}
                  </td>
                  <td data-label="System prompt" class="clip">
                    {container.system_prompt ?? <span class="muted">none</span>}
                  </td>
                  <td data-label="Updated">{formatTime(container.updated_at * 1000)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <CreateContainerForm />
    </section>
  );
}
