import { useState } from 'preact/hooks';
import { type ApiKey, api, type ListEnvelope, type Organization, queryString } from '../api';
import { ErrorNotice, Loading, Notice } from '../components/feedback';
import { StatusBadge } from '../components/tags';
import { dash, formatInteger, formatTime } from '../format';
import { Link, navigate } from '../router';
import { setCredential } from '../session';
import { useAction } from '../use-action';
import { useResource } from '../use-resource';

export function useOrganizations() {
  return useResource('organizations', (signal) =>
    api<ListEnvelope<Organization>>('/admin/v1/organizations', { as: 'admin', signal }).then(
      (list) => list.data,
    ),
  );
}

function optionalInteger(value: string): number | undefined {
  return value.trim() === '' ? undefined : Number(value);
}

/** The one time a key is shown: copy it, or use it for this console, then it is forgotten. */
function NewKey({ created, onDone }: { created: ApiKey; onDone(): void }) {
  const [copied, setCopied] = useState(false);
  const secret = created.key ?? '';
  return (
    <div class="card new-key" role="alert">
      <h2>Key created: {created.name}</h2>
      <p>
        <strong>Copy this key now.</strong> It is shown once and cannot be retrieved again.
      </p>
      <label for="new-key-value">New key</label>
      <input
        id="new-key-value"
        class="mono"
        readOnly
        value={secret}
        onFocus={(event) => event.currentTarget.select()}
      />
      <div class="actions">
        <button
          type="button"
          onClick={async () => {
            await navigator.clipboard?.writeText(secret).then(
              () => setCopied(true),
              () => setCopied(false),
            );
          }}
        >
          {copied ? 'Copied' : 'Copy'}
        </button>
        <button
          type="button"
          onClick={() => {
            setCredential('key', secret);
            onDone();
          }}
        >
          Use this key in the console
        </button>
        <button type="button" class="primary" onClick={onDone}>
          Done, I saved it
        </button>
      </div>
    </div>
  );
}

export function CreateKeyForm({
  organizations,
  fixedOrg,
  onCreated,
}: {
  organizations: Organization[];
  fixedOrg?: string;
  onCreated(key: ApiKey): void;
}) {
  const [org, setOrg] = useState(fixedOrg ?? '');
  const [name, setName] = useState('');
  const [expires, setExpires] = useState('');
  const [rateLimit, setRateLimit] = useState('');
  const [tokenRateLimit, setTokenRateLimit] = useState('');
  const action = useAction();
  const chosenOrg = org || organizations[0]?.id || '';

  const onSubmit = async (event: Event) => {
    event.preventDefault();
    let created: ApiKey | undefined;
    const isDone = await action.run(async () => {
      created = await api<ApiKey>('/admin/v1/keys', {
        as: 'admin',
        method: 'POST',
        body: {
          org: chosenOrg,
          ...(name.trim() ? { name: name.trim() } : {}),
          ...(expires ? { expires_at: expires } : {}),
          ...(optionalInteger(rateLimit) === undefined ? {} : { rate_limit: optionalInteger(rateLimit) }),
          ...(optionalInteger(tokenRateLimit) === undefined
            ? {}
            : { token_rate_limit: optionalInteger(tokenRateLimit) }),
        },
      });
    });
    if (isDone && created) {
      setName('');
      setExpires('');
      setRateLimit('');
      setTokenRateLimit('');
      onCreated(created);
    }
  };

  return (
    <form class="card form-grid" onSubmit={onSubmit} aria-label="Create a key">
      <h2>Create a key</h2>
      {fixedOrg ? null : (
        <div class="field">
          <label for="key-org">Organisation</label>
          <select
            id="key-org"
            required
            value={chosenOrg}
            onChange={(event) => setOrg(event.currentTarget.value)}
          >
            {organizations.map((organization) => (
              <option key={organization.id} value={organization.id}>
                {organization.name}
              </option>
            ))}
          </select>
        </div>
      )}
      <div class="field">
        <label for="key-name">Name</label>
        <input
          id="key-name"
          value={name}
          placeholder="default"
          onInput={(event) => setName(event.currentTarget.value)}
        />
      </div>
      <div class="field">
        <label for="key-expires">Expires on</label>
        <input
          id="key-expires"
          type="date"
          value={expires}
          onInput={(event) => setExpires(event.currentTarget.value)}
        />
      </div>
      <div class="field">
        <label for="key-rate-limit">Requests per window</label>
        <input
          id="key-rate-limit"
          type="number"
          min="1"
          inputMode="numeric"
          value={rateLimit}
          onInput={(event) => setRateLimit(event.currentTarget.value)}
        />
      </div>
      <div class="field">
        <label for="key-token-rate-limit">Tokens per window</label>
        <input
          id="key-token-rate-limit"
          type="number"
          min="1"
          inputMode="numeric"
          value={tokenRateLimit}
          onInput={(event) => setTokenRateLimit(event.currentTarget.value)}
        />
      </div>
      <ErrorNotice error={action.error} title="Key not created" />
      <div class="actions">
        <button type="submit" class="primary" disabled={action.isPending || !chosenOrg}>
          Create key
        </button>
      </div>
    </form>
  );
}

function KeyActions({ apiKey, onChanged }: { apiKey: ApiKey; onChanged(): void }) {
  const [isConfirming, setConfirming] = useState(false);
  const action = useAction();
  const post = async (verb: 'disable' | 'revoke') => {
    const isDone = await action.run(() =>
      api(`/admin/v1/keys/${encodeURIComponent(apiKey.id)}/${verb}`, { as: 'admin', method: 'POST' }),
    );
    setConfirming(false);
    if (isDone) onChanged();
  };
  if (apiKey.status === 'revoked') return <span class="muted">—</span>;
  return (
    <div class="row-actions">
      {isConfirming ? (
        <>
          <button type="button" class="danger" disabled={action.isPending} onClick={() => post('revoke')}>
            Confirm revoke {apiKey.name}
          </button>
          <button type="button" onClick={() => setConfirming(false)}>
            Cancel
          </button>
        </>
      ) : (
        <>
          {apiKey.status === 'active' ? (
            <button type="button" disabled={action.isPending} onClick={() => post('disable')}>
              Disable
            </button>
          ) : null}
          <button
            type="button"
            class="danger"
            onClick={() => setConfirming(true)}
            aria-label={`Revoke ${apiKey.name}`}
          >
            Revoke
          </button>
        </>
      )}
      <ErrorNotice error={action.error} />
    </div>
  );
}

export function KeysTable({
  keys,
  organizations,
  onChanged,
}: {
  keys: ApiKey[];
  organizations: Organization[];
  onChanged(): void;
}) {
  const orgNames = new Map(organizations.map((organization) => [organization.id, organization.name]));
  return (
    <div class="table-scroll">
      <table class="responsive">
        <caption class="visually-hidden">API keys, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Prefix</th>
            <th scope="col">Organisation</th>
            <th scope="col">Status</th>
            <th scope="col">Created</th>
            <th scope="col">Expires</th>
            <th scope="col">Last used</th>
            <th scope="col">Limits</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {keys.map((apiKey) => (
            <tr key={apiKey.id} data-key-id={apiKey.id}>
              <td data-label="Name">{apiKey.name}</td>
              <td data-label="Prefix" class="mono">
                {apiKey.prefix}…
              </td>
              <td data-label="Organisation">
                {apiKey.org_id ? (
                  <Link to={`/organizations/${encodeURIComponent(apiKey.org_id)}`}>
                    {orgNames.get(apiKey.org_id) ?? apiKey.org_id}
                  </Link>
                ) : (
                  dash
                )}
              </td>
              <td data-label="Status">
                <StatusBadge kind={apiKey.status === 'active' ? 'ok' : 'error'} label={apiKey.status} />
              </td>
              <td data-label="Created">{formatTime(apiKey.created_at * 1000)}</td>
              <td data-label="Expires">{apiKey.expires_at ? formatTime(apiKey.expires_at * 1000) : dash}</td>
              <td data-label="Last used">
                {apiKey.last_used_at ? formatTime(apiKey.last_used_at * 1000) : dash}
              </td>
              <td data-label="Limits">
                {apiKey.rate_limit === null && apiKey.token_rate_limit === null
                  ? 'default'
                  : `${formatInteger(apiKey.rate_limit)} req · ${formatInteger(apiKey.token_rate_limit)} tok`}
              </td>
              <td data-label="Actions">
                <KeyActions apiKey={apiKey} onChanged={onChanged} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function KeysPage({ query }: { query: URLSearchParams }) {
  const org = query.get('org') ?? '';
  const organizations = useOrganizations();
  const keys = useResource(`keys:${org}`, (signal) =>
    api<ListEnvelope<ApiKey>>(`/admin/v1/keys${queryString({ org })}`, { as: 'admin', signal }),
  );
  const [created, setCreated] = useState<ApiKey | undefined>(undefined);
  const orgs = organizations.data ?? [];

  return (
    <section>
      <h1 tabIndex={-1}>Keys</h1>
      {created ? (
        <NewKey
          created={created}
          onDone={() => {
            setCreated(undefined);
            document.querySelector<HTMLElement>('main h1')?.focus();
          }}
        />
      ) : null}
      <ErrorNotice error={organizations.error ?? keys.error} title="Could not load keys" />
      {organizations.data && orgs.length === 0 ? (
        <Notice>
          No organisations yet. <Link to="/organizations">Create one</Link> first.
        </Notice>
      ) : null}
      {orgs.length > 0 ? (
        <CreateKeyForm
          organizations={orgs}
          onCreated={(key) => {
            setCreated(key);
            keys.reload();
          }}
        />
      ) : null}
      <form class="filters card" aria-label="Filter keys" onSubmit={(event) => event.preventDefault()}>
        <div class="field">
          <label for="keys-org-filter">Organisation</label>
          <select
            id="keys-org-filter"
            value={org}
            onChange={(event) => navigate(`/keys${queryString({ org: event.currentTarget.value })}`)}
          >
            <option value="">All organisations</option>
            {orgs.map((organization) => (
              <option key={organization.id} value={organization.id}>
                {organization.name}
              </option>
            ))}
          </select>
        </div>
      </form>
      {keys.data === undefined ? (
        keys.error ? null : (
          <Loading />
        )
      ) : keys.data.data.length === 0 ? (
        <Notice>No keys.</Notice>
      ) : (
        <KeysTable keys={keys.data.data} organizations={orgs} onChanged={keys.reload} />
      )}
    </section>
  );
}
