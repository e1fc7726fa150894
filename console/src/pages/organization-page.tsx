import { useState } from 'preact/hooks';
import {
  type ApiKey,
  api,
  type Balance,
  type Budget,
  type ListEnvelope,
  type Organization,
  type Project,
  queryString,
} from '../api';
import { ErrorNotice, Facts, Loading, Notice } from '../components/feedback';
import { StatusBadge } from '../components/tags';
import { formatInteger, formatTime, formatUsd } from '../format';
import { Link } from '../router';
import { useAction } from '../use-action';
import { useResource } from '../use-resource';
import { CreateKeyForm, KeysTable } from './keys-page';

interface OrganizationDetail {
  organization: Organization;
  projects: Project[];
  balance: Balance;
  budgets: Budget[];
  keys: ApiKey[];
}

async function loadOrganization(org: string, signal: AbortSignal): Promise<OrganizationDetail> {
  const path = `/admin/v1/organizations/${encodeURIComponent(org)}`;
  const options = { as: 'admin' as const, signal };
  const [organization, projects, balance, budgets, keys] = await Promise.all([
    api<Organization>(path, options),
    api<ListEnvelope<Project>>(`${path}/projects`, options),
    api<Balance>(`${path}/balance`, options),
    api<ListEnvelope<Budget>>(`/admin/v1/budgets${queryString({ org })}`, options),
    api<ListEnvelope<ApiKey>>(`/admin/v1/keys${queryString({ org })}`, options),
  ]);
  return { organization, projects: projects.data, balance, budgets: budgets.data, keys: keys.data };
}

function CreditsForm({ org, onDone }: { org: string; onDone(): void }) {
  const [amount, setAmount] = useState('');
  const [note, setNote] = useState('');
  const action = useAction();
  const onSubmit = async (event: Event) => {
    event.preventDefault();
    const isDone = await action.run(() =>
      api(`/admin/v1/organizations/${encodeURIComponent(org)}/credits`, {
        as: 'admin',
        method: 'POST',
        body: { amount_usd: Number(amount), ...(note.trim() ? { note: note.trim() } : {}) },
      }),
    );
    if (isDone) {
      setAmount('');
      setNote('');
      onDone();
    }
  };
  return (
    <form class="form-grid" onSubmit={onSubmit} aria-label="Add credits">
      <div class="field">
        <label for="credit-amount">Amount (USD)</label>
        <input
          id="credit-amount"
          type="number"
          step="0.000001"
          required
          inputMode="decimal"
          aria-describedby="credit-amount-hint"
          value={amount}
          onInput={(event) => setAmount(event.currentTarget.value)}
        />
        <span id="credit-amount-hint" class="hint">
          A negative amount is a correction.
        </span>
      </div>
      <div class="field">
        <label for="credit-note">Note</label>
        <input id="credit-note" value={note} onInput={(event) => setNote(event.currentTarget.value)} />
      </div>
      <ErrorNotice error={action.error} title="Credits not added" />
      <div class="actions">
        <button type="submit" class="primary" disabled={action.isPending}>
          Add credits
        </button>
      </div>
    </form>
  );
}

function BudgetForm({ detail, onDone }: { detail: OrganizationDetail; onDone(): void }) {
  const [target, setTarget] = useState(`org:${detail.organization.id}`);
  const [period, setPeriod] = useState('month');
  const [limit, setLimit] = useState('');
  const action = useAction();
  const onSubmit = async (event: Event) => {
    event.preventDefault();
    const [scope, id] = target.split(/:(.*)/s) as [string, string];
    const isDone = await action.run(() =>
      api('/admin/v1/budgets', {
        as: 'admin',
        method: 'PUT',
        body: { scope, id, period, limit_usd: Number(limit) },
      }),
    );
    if (isDone) {
      setLimit('');
      onDone();
    }
  };
  return (
    <form class="form-grid" onSubmit={onSubmit} aria-label="Set a budget">
      <div class="field">
        <label for="budget-target">Applies to</label>
        <select id="budget-target" value={target} onChange={(event) => setTarget(event.currentTarget.value)}>
          <option value={`org:${detail.organization.id}`}>Organisation {detail.organization.name}</option>
          {detail.projects.map((project) => (
            <option key={project.id} value={`project:${project.id}`}>
              Project {project.name}
            </option>
          ))}
          {detail.keys
            .filter((key) => key.status === 'active')
            .map((key) => (
              <option key={key.id} value={`key:${key.id}`}>
                Key {key.name} ({key.prefix}…)
              </option>
            ))}
        </select>
      </div>
      <div class="field">
        <label for="budget-period">Period</label>
        <select id="budget-period" value={period} onChange={(event) => setPeriod(event.currentTarget.value)}>
          <option value="day">Day (UTC)</option>
          <option value="month">Month (UTC)</option>
          <option value="total">Total</option>
        </select>
      </div>
      <div class="field">
        <label for="budget-limit">Limit (USD)</label>
        <input
          id="budget-limit"
          type="number"
          min="0"
          step="0.000001"
          required
          inputMode="decimal"
          value={limit}
          onInput={(event) => setLimit(event.currentTarget.value)}
        />
      </div>
      <ErrorNotice error={action.error} title="Budget not set" />
      <div class="actions">
        <button type="submit" class="primary" disabled={action.isPending}>
          Set budget
        </button>
      </div>
    </form>
  );
}

function ProjectForm({ org, onDone }: { org: string; onDone(): void }) {
  const [name, setName] = useState('');
  const action = useAction();
  const onSubmit = async (event: Event) => {
    event.preventDefault();
    const isDone = await action.run(() =>
      api(`/admin/v1/organizations/${encodeURIComponent(org)}/projects`, {
        as: 'admin',
        method: 'POST',
        body: { name: name.trim() },
      }),
    );
    if (isDone) {
      setName('');
      onDone();
    }
  };
  return (
    <form class="form-grid" onSubmit={onSubmit} aria-label="Create a project">
      <div class="field">
        <label for="project-name">New project name</label>
        <input
          id="project-name"
          required
          value={name}
          onInput={(event) => setName(event.currentTarget.value)}
        />
      </div>
      <ErrorNotice error={action.error} title="Project not created" />
      <div class="actions">
        <button type="submit" disabled={action.isPending}>
          Create project
        </button>
      </div>
    </form>
  );
}

export function OrganizationPage({ org }: { org: string }) {
  const detail = useResource(`organization:${org}`, (signal) => loadOrganization(org, signal));
  const toggle = useAction();
  const [created, setCreated] = useState<ApiKey | undefined>(undefined);
  const data = detail.data;
  const scopeName = (budget: Budget) => {
    if (budget.scope === 'org') return 'Organisation';
    if (budget.scope === 'project')
      return `Project ${data?.projects.find((project) => project.id === budget.scope_id)?.name ?? budget.scope_id}`;
    return `Key ${data?.keys.find((key) => key.id === budget.scope_id)?.name ?? budget.scope_id}`;
  };

  return (
    <section>
      <p class="breadcrumb">
        <Link to="/organizations">Organisations</Link> /
      </p>
      <h1 tabIndex={-1}>{data?.organization.name ?? org}</h1>
      <ErrorNotice error={detail.error} title="Could not load this organisation" />
      {data === undefined ? (
        detail.error ? null : (
          <Loading />
        )
      ) : (
        <>
          <div class="card">
            <Facts
              items={[
                ['Id', <span class="mono">{data.organization.id}</span>],
                [
                  'Status',
                  <StatusBadge
                    kind={data.organization.disabled ? 'error' : 'ok'}
                    label={data.organization.disabled ? 'disabled' : 'active'}
                  />,
                ],
                [
                  'Rate limit',
                  `${data.organization.rate_limit ?? 'default'} requests · ${data.organization.token_rate_limit ?? 'default'} tokens per window`,
                ],
                ['Created', formatTime(data.organization.created_at * 1000)],
              ]}
            />
            <ErrorNotice error={toggle.error} />
            <button
              type="button"
              class={data.organization.disabled ? undefined : 'danger'}
              disabled={toggle.isPending}
              onClick={async () => {
                const verb = data.organization.disabled ? 'enable' : 'disable';
                if (
                  await toggle.run(() =>
                    api(`/admin/v1/organizations/${encodeURIComponent(org)}/${verb}`, {
                      as: 'admin',
                      method: 'POST',
                    }),
                  )
                )
                  detail.reload();
              }}
            >
              {data.organization.disabled ? 'Enable organisation' : 'Disable organisation'}
            </button>
          </div>
          <section class="card" aria-label="Credits">
            <h2>Credits</h2>
            <Facts
              items={[
                ['Billing configured', data.balance.configured ? 'yes (prepaid)' : 'no credits added yet'],
                ['Balance', formatUsd(data.balance.balance_usd)],
                ['Reserved by requests in flight', formatUsd(data.balance.reserved_usd)],
                ['Available', formatUsd(data.balance.available_usd)],
              ]}
            />
            <CreditsForm org={org} onDone={detail.reload} />
          </section>
          <section class="card" aria-label="Budgets">
            <h2>Budgets</h2>
            {data.budgets.length === 0 ? (
              <p class="muted">No budgets.</p>
            ) : (
              <div class="table-scroll">
                <table class="responsive">
                  <caption class="visually-hidden">Budgets</caption>
                  <thead>
                    <tr>
                      <th scope="col">Applies to</th>
                      <th scope="col">Period</th>
                      <th scope="col">Limit</th>
                      <th scope="col">Spent this period</th>
                    </tr>
                  </thead>
                  <tbody>
                    {data.budgets.map((budget) => (
                      <tr key={budget.id}>
                        <td data-label="Applies to">{scopeName(budget)}</td>
                        <td data-label="Period">{budget.period}</td>
                        <td data-label="Limit">{formatUsd(budget.limit_usd)}</td>
                        <td data-label="Spent this period">{formatUsd(budget.spent_usd)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
            <BudgetForm detail={data} onDone={detail.reload} />
          </section>
          <section class="card" aria-label="Projects">
            <h2>Projects</h2>
            <ul>
              {data.projects.map((project) => (
                <li key={project.id}>
                  {project.name} <span class="muted mono">{project.id}</span>
                </li>
              ))}
            </ul>
            <ProjectForm org={org} onDone={detail.reload} />
          </section>
          <section aria-label="Keys">
            <h2>Keys ({formatInteger(data.keys.length)})</h2>
            {created?.key ? (
              <div class="card new-key" role="alert">
                <p>
                  <strong>Copy this key now;</strong> it is not shown again.
                </p>
                <label for="org-new-key">New key {created.name}</label>
                <input id="org-new-key" class="mono" readOnly value={created.key} />
                <button type="button" class="primary" onClick={() => setCreated(undefined)}>
                  Done, I saved it
                </button>
              </div>
            ) : null}
            <CreateKeyForm
              organizations={[data.organization]}
              fixedOrg={data.organization.id}
              onCreated={(key) => {
                setCreated(key);
                detail.reload();
              }}
            />
            {data.keys.length === 0 ? (
              <Notice>No keys.</Notice>
            ) : (
              <KeysTable keys={data.keys} organizations={[data.organization]} onChanged={detail.reload} />
            )}
          </section>
        </>
      )}
    </section>
  );
}
