import { generateApiKey } from '../auth/api-key.js';
import { microsPerUsd } from '../billing/cost.js';
import { type Clock, systemClock } from '../clock.js';
import { GatewayError, invalidType, invalidValue, missingParameter } from '../errors/gateway-error.js';
import {
  type ApiKeyRecord,
  type BalanceRecord,
  type BudgetPeriod,
  type BudgetRecord,
  type BudgetScope,
  type OrganizationRecord,
  type ProjectRecord,
  type Store,
  StoreError,
} from '../store/repositories.js';

/**
 * Tenancy management (SPEC §6, §8, §13.2): organizations, projects, keys, credits and budgets, for
 * the admin HTTP API and the CLI alike. Inputs arrive as parsed JSON (`unknown`) and are validated
 * here; results are the JSON the API answers. Times are Unix seconds and money is USD on the wire,
 * integer micro-dollars inside. Key hashes never leave this module; a plaintext key only once.
 */
export interface AdminContext {
  store: Pick<Store, 'organizations' | 'projects' | 'apiKeys' | 'billing'>;
  /**
   * Drops a key id or organization id from the key caches of every gateway instance, so a disable
   * or revoke takes effect at once (SPEC §6). Called after the store has changed.
   */
  revoke(id: string): Promise<void>;
  /** A budget or the credits of the organization changed: forget what is cached of its billing. */
  onBillingChanged?(orgId: string): void;
  /** Open reservations held in the gateway's memory rather than in the store (decision 0011). */
  heldMicros?(orgId: string): number;
  clock?: Clock;
}

export type ApiKeyStatus = 'active' | 'disabled' | 'revoked' | 'expired';
export type OrganizationView = ReturnType<typeof toOrganizationView>;
export type ProjectView = ReturnType<typeof toProjectView>;
export type CreatedOrganization = OrganizationView & { default_project: ProjectView };
/** Every stored field of a key but its hash; `prefix` is the first 12 characters of the key. */
export type ApiKeyView = ReturnType<typeof toApiKeyView>;
/** The answer to a key creation: the only time the plaintext key is ever returned. */
export type CreatedApiKey = ApiKeyView & { key: string };
/** `configured` is false until credits were first added (prepaid requests: `billing_not_configured`). */
export type BalanceView = ReturnType<typeof toBalanceView>;
export type CreditView = BalanceView & { amount_usd: number };
export type BudgetView = ReturnType<typeof toBudgetView>;
export interface ListView<T> {
  object: 'list';
  data: T[];
}

type Body = Record<string, unknown>;
type AdminResource = 'organization' | 'project' | 'key';

const namePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const maxKeyNameLength = 200;
/** A billion dollars: far above any real amount, far below the safe-integer limit in micros. */
const maxAbsoluteMicros = 1_000_000_000 * microsPerUsd;
const scopes: readonly BudgetScope[] = ['org', 'project', 'key'];
const periods: readonly BudgetPeriod[] = ['day', 'month', 'total'];
const isoTimestamp = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2}))?$/;

/** The 404 for an unknown organization, project or key, however it was referenced. */
function notFound(resource: AdminResource, id: string): GatewayError {
  return new GatewayError(`${resource}_not_found`, { id });
}

const seconds = (ms: number): number => Math.floor(ms / 1000);
const secondsOrNull = (ms: number | null): number | null => (ms === null ? null : seconds(ms));
const usd = (micros: number): number => micros / microsPerUsd;

function bodyOf(input: unknown): Body {
  if (input === undefined || input === null) return {};
  if (typeof input !== 'object' || Array.isArray(input)) throw invalidType('body', 'object');
  return input as Body;
}

function optionalString(body: Body, param: string): string | undefined {
  const value = body[param];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalidType(param, 'string');
  if (value.length === 0) throw invalidValue(param, 'must not be empty');
  return value;
}

function requiredString(body: Body, param: string): string {
  const value = optionalString(body, param);
  if (value === undefined) throw missingParameter(param);
  return value;
}

/** A per-window limit: a positive integer, or `null`/absent for none. */
function optionalLimit(body: Body, param: string): number | null {
  const value = body[param];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number' || !Number.isInteger(value)) throw invalidType(param, 'integer');
  if (value < 1 || value > 1_000_000_000) throw invalidValue(param, 'must be from 1 to 1000000000');
  return value;
}

function tenantName(body: Body, param: string): string {
  const name = requiredString(body, param);
  if (!namePattern.test(name))
    throw invalidValue(param, 'use 1-64 letters, digits, dots, dashes or underscores');
  return name;
}

/** USD with at most 6 decimals, as integer micro-dollars. */
function micros(body: Body, param: string): number {
  const value = body[param];
  if (value === undefined || value === null) throw missingParameter(param);
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalidType(param, 'number');
  if (Number(value.toFixed(6)) !== value) throw invalidValue(param, 'use at most 6 decimal places');
  const amount = Math.round(value * microsPerUsd);
  if (Math.abs(amount) > maxAbsoluteMicros) throw invalidValue(param, 'must be at most 1000000000 USD');
  return amount;
}

function oneOf<T extends string>(body: Body, param: string, allowed: readonly T[]): T {
  const value = requiredString(body, param);
  if (!(allowed as readonly string[]).includes(value))
    throw invalidValue(param, `must be one of ${allowed.join(', ')}`);
  return value as T;
}

/** Unix seconds, or an ISO 8601 date (UTC midnight) or date-time with `Z` or an offset, as milliseconds. */
function optionalTimestamp(body: Body, param: string): number | null {
  const value = body[param];
  if (value === undefined || value === null) return null;
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 0) throw invalidValue(param, 'must be Unix seconds');
    return value * 1000;
  }
  if (typeof value !== 'string') throw invalidType(param, 'Unix seconds or an ISO 8601 string');
  const [year = 0, month = 0, day = 0] = value.slice(0, 10).split('-').map(Number);
  // Date.parse rolls 2030-02-31 over into March instead of refusing it.
  const isRealDay = new Date(Date.UTC(year, month - 1, day)).getUTCDate() === day;
  const parsed = isoTimestamp.test(value) && isRealDay ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(parsed))
    throw invalidValue(param, 'must be an ISO 8601 date, or date-time with Z or an offset');
  return parsed;
}

export function toOrganizationView(record: OrganizationRecord) {
  return {
    object: 'organization' as const,
    id: record.id,
    name: record.name,
    disabled: record.disabled,
    rate_limit: record.rateLimit,
    token_rate_limit: record.tokenRateLimit,
    created_at: seconds(record.createdAt),
  };
}

export function toProjectView(record: ProjectRecord) {
  return {
    object: 'project' as const,
    id: record.id,
    org_id: record.orgId,
    name: record.name,
    created_at: seconds(record.createdAt),
  };
}

function statusOf(record: ApiKeyRecord, now: number): ApiKeyStatus {
  if (record.revokedAt !== null) return 'revoked';
  if (record.disabledAt !== null) return 'disabled';
  if (record.expiresAt !== null && record.expiresAt <= now) return 'expired';
  return 'active';
}

export function toApiKeyView(record: ApiKeyRecord, now: number) {
  return {
    object: 'api_key' as const,
    id: record.id,
    org_id: record.orgId,
    project_id: record.projectId,
    name: record.name,
    prefix: record.prefix,
    status: statusOf(record, now),
    expires_at: secondsOrNull(record.expiresAt),
    disabled_at: secondsOrNull(record.disabledAt),
    revoked_at: secondsOrNull(record.revokedAt),
    rate_limit: record.rateLimit,
    token_rate_limit: record.tokenRateLimit,
    last_used_at: secondsOrNull(record.lastUsedAt),
    created_at: seconds(record.createdAt),
  };
}

export function toBalanceView(orgId: string, balance: BalanceRecord | undefined, heldMicros = 0) {
  return {
    object: 'balance' as const,
    org_id: orgId,
    configured: balance?.isConfigured ?? false,
    balance_usd: usd(balance?.balanceMicros ?? 0),
    reserved_usd: usd((balance?.reservedMicros ?? 0) + heldMicros),
    available_usd: usd((balance?.availableMicros ?? 0) - heldMicros),
  };
}

export function toBudgetView(record: BudgetRecord) {
  return {
    object: 'budget' as const,
    id: record.id,
    org_id: record.orgId,
    scope: record.scope,
    scope_id: record.scopeId,
    period: record.period,
    limit_usd: usd(record.limitMicros),
    spent_usd: usd(record.spentMicros),
    created_at: seconds(record.createdAt),
    updated_at: seconds(record.updatedAt),
  };
}

const nowOf = (context: AdminContext): number => (context.clock ?? systemClock).now();

async function organizationOf(context: AdminContext, idOrName: string): Promise<OrganizationRecord> {
  const organization = await context.store.organizations.findByIdOrName(idOrName);
  if (organization === undefined) throw notFound('organization', idOrName);
  return organization;
}

/** The organization named by `?org=` (id or name), or `undefined` for all. */
async function orgFilterOf(context: AdminContext, query: unknown): Promise<string | undefined> {
  const ref = optionalString(bodyOf(query), 'org');
  return ref === undefined ? undefined : (await organizationOf(context, ref)).id;
}

/** Rethrows a StoreError as the catalog error the caller explains it with; anything else as it was. */
function rethrow(error: unknown, explain: Partial<Record<StoreError['code'], () => GatewayError>>): never {
  throw (error instanceof StoreError ? explain[error.code]?.() : undefined) ?? error;
}

/** POST /admin/v1/organizations `{name, rate_limit?, token_rate_limit?}`; also creates project `default`. */
export async function createOrganization(
  context: AdminContext,
  input: unknown,
): Promise<CreatedOrganization> {
  const body = bodyOf(input);
  const name = tenantName(body, 'name');
  // An org is referenced by id or name, and the internal key's default org is called `internal`.
  if (name.startsWith('org_') || name === 'internal') throw invalidValue('name', `'${name}' is reserved`);
  const rateLimit = optionalLimit(body, 'rate_limit');
  const tokenRateLimit = optionalLimit(body, 'token_rate_limit');
  try {
    const { organization, defaultProject } = await context.store.organizations.create({
      name,
      rateLimit,
      tokenRateLimit,
    });
    return { ...toOrganizationView(organization), default_project: toProjectView(defaultProject) };
  } catch (error) {
    rethrow(error, {
      duplicate: () => invalidValue('name', `an organization named '${name}' already exists`),
    });
  }
}

export async function listOrganizations(context: AdminContext): Promise<ListView<OrganizationView>> {
  const organizations = await context.store.organizations.list();
  return { object: 'list', data: organizations.map(toOrganizationView) };
}

export async function getOrganization(context: AdminContext, idOrName: string): Promise<OrganizationView> {
  return toOrganizationView(await organizationOf(context, idOrName));
}

/** Either way, every instance's key cache drops the organization's keys through `revoke(orgId)`. */
async function setOrganizationDisabled(context: AdminContext, idOrName: string, isDisabled: boolean) {
  const organization = await organizationOf(context, idOrName);
  const updated = await context.store.organizations.setDisabled(organization.id, isDisabled);
  if (updated === undefined) throw notFound('organization', idOrName);
  await context.revoke(updated.id);
  return toOrganizationView(updated);
}

export const disableOrganization = (context: AdminContext, idOrName: string): Promise<OrganizationView> =>
  setOrganizationDisabled(context, idOrName, true);
export const enableOrganization = (context: AdminContext, idOrName: string): Promise<OrganizationView> =>
  setOrganizationDisabled(context, idOrName, false);

export async function createProject(
  context: AdminContext,
  orgIdOrName: string,
  input: unknown,
): Promise<ProjectView> {
  const body = bodyOf(input);
  const name = tenantName(body, 'name');
  const organization = await organizationOf(context, orgIdOrName);
  try {
    return toProjectView(await context.store.projects.create({ orgId: organization.id, name }));
  } catch (error) {
    rethrow(error, {
      duplicate: () => invalidValue('name', `the organization already has a project named '${name}'`),
      not_found: () => notFound('organization', orgIdOrName),
    });
  }
}

export async function listProjects(
  context: AdminContext,
  orgIdOrName: string,
): Promise<ListView<ProjectView>> {
  const organization = await organizationOf(context, orgIdOrName);
  const projects = await context.store.projects.list(organization.id);
  return { object: 'list', data: projects.map(toProjectView) };
}

/**
 * POST /admin/v1/keys `{org | project, name?, expires_at?, rate_limit?, token_rate_limit?}`. With only
 * `org` (id or name) the key belongs to its `default` project. The answer holds the key itself; it is
 * stored only as its SHA-256 and can never be shown again.
 */
export async function createKey(context: AdminContext, input: unknown): Promise<CreatedApiKey> {
  const body = bodyOf(input);
  const orgRef = optionalString(body, 'org');
  const projectId = optionalString(body, 'project');
  if (orgRef === undefined && projectId === undefined) throw missingParameter('org');
  const name = optionalString(body, 'name') ?? 'default';
  if (name.length > maxKeyNameLength)
    throw invalidValue('name', `must be at most ${maxKeyNameLength} characters`);
  const expiresAt = optionalTimestamp(body, 'expires_at');
  const now = nowOf(context);
  if (expiresAt !== null && expiresAt <= now) throw invalidValue('expires_at', 'must be in the future');
  const rateLimit = optionalLimit(body, 'rate_limit');
  const tokenRateLimit = optionalLimit(body, 'token_rate_limit');
  const orgId = orgRef === undefined ? undefined : (await organizationOf(context, orgRef)).id;
  const generated = generateApiKey();
  try {
    const record = await context.store.apiKeys.create({
      orgId: orgId ?? null,
      projectId: projectId ?? null,
      name,
      hash: generated.hash,
      prefix: generated.prefix,
      expiresAt,
      rateLimit,
      tokenRateLimit,
    });
    return { ...toApiKeyView(record, now), key: generated.key };
  } catch (error) {
    rethrow(error, {
      not_found: () =>
        projectId === undefined ? notFound('organization', orgRef ?? '') : notFound('project', projectId),
    });
  }
}

/** GET /admin/v1/keys `?org=` (id or name; all keys without it), newest first, never the secret. */
export async function listKeys(context: AdminContext, query: unknown = {}): Promise<ListView<ApiKeyView>> {
  const keys = await context.store.apiKeys.list(await orgFilterOf(context, query));
  const now = nowOf(context);
  return { object: 'list', data: keys.map((key) => toApiKeyView(key, now)) };
}

async function changeKey(
  context: AdminContext,
  id: string,
  change: 'revoke' | 'disable',
): Promise<ApiKeyView> {
  const record = await context.store.apiKeys[change](id);
  if (record === undefined) throw notFound('key', id);
  await context.revoke(record.id);
  return toApiKeyView(record, nowOf(context));
}

/** Permanent. Idempotent: revoking twice keeps the first `revoked_at`. */
export const revokeKey = (context: AdminContext, id: string) => changeKey(context, id, 'revoke');
export const disableKey = (context: AdminContext, id: string) => changeKey(context, id, 'disable');

/** POST /admin/v1/organizations/{org}/credits `{amount_usd, note?}`; negative amounts correct. */
export async function addCredits(
  context: AdminContext,
  orgIdOrName: string,
  input: unknown,
): Promise<CreditView> {
  const body = bodyOf(input);
  const amountMicros = micros(body, 'amount_usd');
  if (amountMicros === 0) throw invalidValue('amount_usd', 'must not be zero');
  const note = optionalString(body, 'note');
  const organization = await organizationOf(context, orgIdOrName);
  try {
    const balance = await context.store.billing.addCredits({
      orgId: organization.id,
      amountMicros,
      ...(note === undefined ? {} : { note }),
      now: nowOf(context),
    });
    context.onBillingChanged?.(organization.id);
    return {
      ...toBalanceView(organization.id, balance, context.heldMicros?.(organization.id)),
      amount_usd: usd(amountMicros),
    };
  } catch (error) {
    rethrow(error, { not_found: () => notFound('organization', orgIdOrName) });
  }
}

export async function getBalance(context: AdminContext, orgIdOrName: string): Promise<BalanceView> {
  const organization = await organizationOf(context, orgIdOrName);
  return toBalanceView(
    organization.id,
    await context.store.billing.getBalance(organization.id),
    context.heldMicros?.(organization.id),
  );
}

/** PUT /admin/v1/budgets `{scope, id, period, limit_usd}`: creates or replaces that budget. */
export async function setBudget(context: AdminContext, input: unknown): Promise<BudgetView> {
  const body = bodyOf(input);
  const scope = oneOf(body, 'scope', scopes);
  const scopeRef = requiredString(body, 'id');
  const period = oneOf(body, 'period', periods);
  const limitMicros = micros(body, 'limit_usd');
  if (limitMicros < 0) throw invalidValue('limit_usd', 'must not be negative');
  const scopeId = scope === 'org' ? (await organizationOf(context, scopeRef)).id : scopeRef;
  try {
    const budget = await context.store.billing.setBudget({
      scope,
      scopeId,
      period,
      limitMicros,
      now: nowOf(context),
    });
    context.onBillingChanged?.(budget.orgId);
    return toBudgetView(budget);
  } catch (error) {
    rethrow(error, { not_found: () => notFound(scope === 'org' ? 'organization' : scope, scopeRef) });
  }
}

/** GET /admin/v1/budgets `?org=`: with the spend of each budget's current period. */
export async function listBudgets(context: AdminContext, query: unknown = {}): Promise<ListView<BudgetView>> {
  const orgId = await orgFilterOf(context, query);
  const budgets = await context.store.billing.listBudgets({
    ...(orgId === undefined ? {} : { orgId }),
    now: nowOf(context),
  });
  return { object: 'list', data: budgets.map(toBudgetView) };
}
