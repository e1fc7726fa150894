/**
 * The store's contract: the only way code outside src/store reaches the database. Kysely types stay
 * inside src/store. Times are Unix milliseconds; money is integer micro-dollars (1 USD = 1 000 000).
 *
 * Every read that a client can trigger takes the caller's organization or project id, so nothing of
 * one organization is visible to another. Reads whose scope argument is optional are for the operator
 * CLI; the api layer always passes it.
 */
import type {
  ContainerRepository,
  RegisteredCompletionRepository,
  RequestEventRepository,
  ResponseRepository,
} from './platform-repositories.js';

export * from './platform-repositories.js';

export interface OrganizationRecord {
  id: string;
  name: string;
  disabled: boolean;
  rateLimit: number | null;
  tokenRateLimit: number | null;
  createdAt: number;
}

export interface ProjectRecord {
  id: string;
  orgId: string;
  name: string;
  createdAt: number;
}

export interface ApiKeyRecord {
  id: string;
  orgId: string | null;
  projectId: string | null;
  name: string;
  /** First 12 characters of the key, for display. */
  prefix: string;
  expiresAt: number | null;
  disabledAt: number | null;
  revokedAt: number | null;
  rateLimit: number | null;
  tokenRateLimit: number | null;
  lastUsedAt: number | null;
  createdAt: number;
}

/** What authentication needs in one round trip: the key and its organization. */
export interface ApiKeyWithOrganization extends ApiKeyRecord {
  organization: OrganizationRecord | null;
  /** The organization's `default` project, for keys stored without a project (imported keys). */
  defaultProjectId?: string | null;
}

/** A failed write whose cause the caller can act on: a name taken, or a referenced row missing. */
export class StoreError extends Error {
  override name = 'StoreError';
  constructor(
    readonly code: 'duplicate' | 'not_found',
    message: string,
  ) {
    super(message);
  }
}

export interface CreateOrganizationInput {
  name: string;
  rateLimit?: number | null;
  tokenRateLimit?: number | null;
}

export interface OrganizationLimits {
  /** `null` clears the limit (the configured default applies); absent leaves it unchanged. */
  rateLimit?: number | null;
  tokenRateLimit?: number | null;
}

export interface OrganizationRepository {
  /** Creates the organization and its `default` project together. Name taken → `StoreError('duplicate')`. */
  create(
    input: CreateOrganizationInput,
  ): Promise<{ organization: OrganizationRecord; defaultProject: ProjectRecord }>;
  list(): Promise<OrganizationRecord[]>;
  /** CLI arguments name an organization either way (`--org <id|name>`). */
  findByIdOrName(idOrName: string): Promise<OrganizationRecord | undefined>;
  setDisabled(id: string, disabled: boolean): Promise<OrganizationRecord | undefined>;
  updateLimits(id: string, limits: OrganizationLimits): Promise<OrganizationRecord | undefined>;
}

export interface ProjectRepository {
  /** Unknown organization → `StoreError('not_found')`; name taken in the org → `StoreError('duplicate')`. */
  create(input: { orgId: string; name: string }): Promise<ProjectRecord>;
  list(orgId: string): Promise<ProjectRecord[]>;
  /** With `orgId`, only a project of that organization is found. */
  find(projectId: string, orgId?: string): Promise<ProjectRecord | undefined>;
  defaultFor(orgId: string): Promise<ProjectRecord | undefined>;
  /**
   * Internal-key attribution (`x-maniac-org` / `x-maniac-project`) in one query: the organization (id
   * or name) and project, the org's `default` project when no project is named, the project's own
   * organization when no org is named. `undefined` when either is unknown or they do not belong together.
   */
  resolveAttribution(
    orgIdOrName: string | undefined,
    projectId: string | undefined,
  ): Promise<{ orgId: string; projectId: string } | undefined>;
}

export interface CreateApiKeyInput {
  /** With only `orgId`, the key belongs to the organization's `default` project. */
  orgId?: string | null;
  /** With only `projectId`, the organization is the project's. */
  projectId?: string | null;
  name: string;
  /** SHA-256 hex of the key; the key itself is never stored. */
  hash: string;
  prefix: string;
  expiresAt?: number | null;
  rateLimit?: number | null;
  tokenRateLimit?: number | null;
}

export interface ApiKeyRepository {
  /**
   * Unknown org or project, or a project of another org → `StoreError('not_found')`; a hash already
   * stored → `StoreError('duplicate')`. Neither org nor project: a key without organization (→ 403).
   */
  create(input: CreateApiKeyInput): Promise<ApiKeyRecord>;
  /** `hash` is the SHA-256 hex of the bearer string. One query, organization joined. */
  findByHash(hash: string): Promise<ApiKeyWithOrganization | undefined>;
  findById(id: string, orgId?: string): Promise<ApiKeyRecord | undefined>;
  /** Newest first. */
  list(orgId?: string): Promise<ApiKeyRecord[]>;
  /** Sets `revokedAt` once (a second call keeps the first time). */
  revoke(id: string, orgId?: string): Promise<ApiKeyRecord | undefined>;
  disable(id: string, orgId?: string): Promise<ApiKeyRecord | undefined>;
  /** One statement for a batch of keys seen since the last flush; never moves `lastUsedAt` back. */
  touchLastUsed(ids: readonly string[], at: number): Promise<void>;
}

export type BudgetScope = 'org' | 'project' | 'key';
/** UTC calendar day, UTC calendar month, or all time. */
export type BudgetPeriod = 'day' | 'month' | 'total';

export interface BudgetRecord {
  id: string;
  orgId: string;
  scope: BudgetScope;
  /** The organization, project or key id the budget applies to. */
  scopeId: string;
  period: BudgetPeriod;
  limitMicros: number;
  /** Settled spend in the period containing the `now` the budget was read at. */
  spentMicros: number;
  createdAt: number;
  updatedAt: number;
}

export interface BalanceRecord {
  orgId: string;
  /** False until credits were first added: prepaid requests then get `billing_not_configured`. */
  isConfigured: boolean;
  balanceMicros: number;
  /** Sum of open reservations. */
  reservedMicros: number;
  /** `balanceMicros − reservedMicros`; negative when settlements overshot their reservations. */
  availableMicros: number;
}

export interface ReserveInput {
  /** Chosen by the caller; reserving the same id again answers `{ ok: true }` and changes nothing. */
  reservationId: string;
  orgId: string;
  projectId: string | null;
  keyId: string | null;
  /** Worst-case estimate; a fraction is rounded up. */
  amountMicros: number;
  /** `billing.mode === 'prepaid'`: check the balance too. Budgets are checked in every mode. */
  prepaid: boolean;
  now: number;
}

export type BillingRejectionCode = 'billing_not_configured' | 'insufficient_credits' | 'budget_exceeded';

export type ReserveResult =
  | { ok: true }
  | {
      ok: false;
      code: BillingRejectionCode;
      /** With `insufficient_credits`: balance − open reservations. */
      availableMicros?: number;
      /** With `budget_exceeded`: the first budget that would be exceeded. */
      budget?: BudgetRecord;
    };

export interface SettleInput {
  reservationId: string;
  /** The request event id: settling the same event twice changes nothing the second time. */
  eventId: string;
  actualMicros: number;
  now: number;
}

/** `invalid_amount`: `actualMicros` was not a finite number; nothing was written. */
export type SettleResult = 'settled' | 'duplicate' | 'unknown_reservation' | 'invalid_amount';

/** A settlement without a stored reservation (the reservation was held in the gateway's memory). */
export interface ChargeInput {
  /** The request event id: charging the same event twice changes nothing the second time. */
  eventId: string;
  orgId: string;
  projectId: string | null;
  keyId: string | null;
  /** Actual cost; fractions are rounded. Non-finite amounts are refused (`invalid_amount`). */
  actualMicros: number;
  /** Decides the budget periods the spend belongs to. */
  now: number;
}

export type ChargeResult = 'charged' | 'duplicate' | 'invalid_amount';

/** What a gateway holding reservations in memory needs of an organization, read in one go. */
export interface LedgerSnapshot {
  orgId: string;
  orgExists: boolean;
  /** Absent until the organization has a billing account. */
  account?: { balanceMicros: number; isConfigured: boolean };
  /** Every budget of the organization, with spend for the periods containing `readAt`. */
  budgets: BudgetRecord[];
  readAt: number;
}

export interface BillingRepository {
  /**
   * Appends a credit to the ledger and raises the balance; the first credit configures billing for
   * the organization. A negative amount is a correction. Unknown org → `StoreError('not_found')`.
   */
  addCredits(input: {
    orgId: string;
    amountMicros: number;
    note?: string;
    now: number;
  }): Promise<BalanceRecord>;
  getBalance(orgId: string): Promise<BalanceRecord | undefined>;
  /**
   * Creates or replaces the budget for (scope, scopeId, period); the organization is the scope's.
   * Unknown scope target → `StoreError('not_found')`.
   */
  setBudget(input: {
    scope: BudgetScope;
    scopeId: string;
    period: BudgetPeriod;
    limitMicros: number;
    now: number;
  }): Promise<BudgetRecord>;
  /** All budgets (of one organization when given), with spend for the periods containing `now`. */
  listBudgets(options: { orgId?: string; now: number }): Promise<BudgetRecord[]>;
  deleteBudget(id: string, orgId?: string): Promise<boolean>;
  /**
   * Atomically checks the balance (when prepaid: balance − open reservations ≥ amount) and every
   * budget of the org, project and key (period spend + open reservations + amount ≤ limit), then
   * holds the amount as an open reservation. Serialized per organization across processes.
   */
  reserve(input: ReserveInput): Promise<ReserveResult>;
  /**
   * Debit, budget spend and reservation release in one transaction, idempotent by `eventId`.
   * Fractional micro-dollars are rounded. Rejects only when the store is unavailable (the telemetry
   * spool replays settlements), so bad input is answered, not thrown.
   */
  settle(input: SettleInput): Promise<SettleResult>;
  /** Several settlements in one transaction; each behaves as `settle`. */
  settleMany(inputs: readonly SettleInput[]): Promise<SettleResult[]>;
  /** Drops an open reservation without charging. `false` when it was not open. */
  release(reservationId: string, now: number): Promise<boolean>;
  /** Releases reservations left open since before `olderThan` (a crashed process); returns how many. */
  releaseStale(olderThan: number, now: number): Promise<number>;
  /**
   * Debits, balance and budget spend of several charges in one transaction, idempotent by `eventId`;
   * answers with each charge's result and a fresh snapshot of every organization charged, read in the
   * same transaction (budget spend as of `now`).
   */
  chargeMany(
    inputs: readonly ChargeInput[],
    now: number,
  ): Promise<{ results: ChargeResult[]; snapshots: LedgerSnapshot[] }>;
  /** The organization's account and budgets with their current spend. */
  ledgerSnapshot(orgId: string, now: number): Promise<LedgerSnapshot>;
}

/** Everything the gateway keeps, behind one handle. */
export interface Store {
  readonly dialect: 'sqlite' | 'postgres';
  organizations: OrganizationRepository;
  projects: ProjectRepository;
  apiKeys: ApiKeyRepository;
  billing: BillingRepository;
  requestEvents: RequestEventRepository;
  registeredCompletions: RegisteredCompletionRepository;
  containers: ContainerRepository;
  responses: ResponseRepository;
  /** One trivial query; rejects when the database cannot be reached (readiness `degraded`). */
  ping(): Promise<void>;
  /** Closes the database handle or pool; the store is unusable afterwards. */
  close(): Promise<void>;
}
