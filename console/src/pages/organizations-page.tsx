import { useState } from 'preact/hooks';
import { api, type Organization } from '../api';
import { ErrorNotice, Loading, Notice } from '../components/feedback';
import { StatusBadge } from '../components/tags';
import { formatInteger, formatTime } from '../format';
import { Link, navigate } from '../router';
import { useAction } from '../use-action';
import { useOrganizations } from './keys-page';

function CreateOrganizationForm() {
  const [name, setName] = useState('');
  const [rateLimit, setRateLimit] = useState('');
  const [tokenRateLimit, setTokenRateLimit] = useState('');
  const action = useAction();

  const onSubmit = async (event: Event) => {
    event.preventDefault();
    let created: Organization | undefined;
    const isDone = await action.run(async () => {
      created = await api<Organization>('/admin/v1/organizations', {
        as: 'admin',
        method: 'POST',
        body: {
          name: name.trim(),
          ...(rateLimit ? { rate_limit: Number(rateLimit) } : {}),
          ...(tokenRateLimit ? { token_rate_limit: Number(tokenRateLimit) } : {}),
        },
      });
    });
    if (isDone && created) navigate(`/organizations/${encodeURIComponent(created.id)}`);
  };

  return (
    <form class="card form-grid" onSubmit={onSubmit} aria-label="Create an organisation">
      <h2>Create an organisation</h2>
      <div class="field">
        <label for="org-name">Name</label>
        <input
          id="org-name"
          required
          pattern="[A-Za-z0-9._\-]{1,64}"
          value={name}
          onInput={(event) => setName(event.currentTarget.value)}
        />
      </div>
      <div class="field">
        <label for="org-rate-limit">Requests per window</label>
        <input
          id="org-rate-limit"
          type="number"
          min="1"
          inputMode="numeric"
          value={rateLimit}
          onInput={(event) => setRateLimit(event.currentTarget.value)}
        />
      </div>
      <div class="field">
        <label for="org-token-rate-limit">Tokens per window</label>
        <input
          id="org-token-rate-limit"
          type="number"
          min="1"
          inputMode="numeric"
          value={tokenRateLimit}
          onInput={(event) => setTokenRateLimit(event.currentTarget.value)}
        />
      </div>
      <ErrorNotice error={action.error} title="Not created" />
      <div class="actions">
        <button type="submit" class="primary" disabled={action.isPending}>
          Create organisation
        </button>
      </div>
    </form>
  );
}

export function OrganizationsPage() {
  const organizations = useOrganizations();
  const list = organizations.data;
  return (
    <section>
      <h1 tabIndex={-1}>Organisations</h1>
      <ErrorNotice error={organizations.error} title="Could not load organisations" />
      {list === undefined ? (
        organizations.error ? null : (
          <Loading />
        )
      ) : list.length === 0 ? (
        <Notice>No organisations yet.</Notice>
      ) : (
        <div class="table-scroll">
          <table class="responsive">
            <caption class="visually-hidden">Organisations</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Id</th>
                <th scope="col">Status</th>
                <th scope="col">Requests per window</th>
                <th scope="col">Tokens per window</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {list.map((organization) => (
                <tr key={organization.id}>
                  <td data-label="Name">
                    <Link to={`/organizations/${encodeURIComponent(organization.id)}`}>
                      {organization.name}
                    </Link>
                  </td>
                  <td data-label="Id" class="mono">
                    {organization.id}
                  </td>
                  <td data-label="Status">
                    <StatusBadge
                      kind={organization.disabled ? 'error' : 'ok'}
                      label={organization.disabled ? 'disabled' : 'active'}
                    />
                  </td>
                  <td data-label="Requests per window">
                    {organization.rate_limit === null ? 'default' : formatInteger(organization.rate_limit)}
                  </td>
                  <td data-label="Tokens per window">
                    {organization.token_rate_limit === null
                      ? 'default'
                      : formatInteger(organization.token_rate_limit)}
                  </td>
                  <td data-label="Created">{formatTime(organization.created_at * 1000)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <CreateOrganizationForm />
    </section>
  );
}
