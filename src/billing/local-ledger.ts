import type { Clock } from '../clock.js';
import { chargeOf } from '../store/billing-charges.js';
import { periodStartOf } from '../store/budget-spend.js';
import type {
  BillingRepository,
  BudgetRecord,
  LedgerSnapshot,
  ReserveInput,
  ReserveResult,
} from '../store/repositories.js';
import type { Settlement } from '../telemetry/settling-sink.js';

/** Where reservations are held and settlements applied: the store's tables, or this process's memory. */
export interface ReservationLedger {
  reserve(input: ReserveInput): Promise<ReserveResult>;
  /** Applies the settlements of one request-log batch; rejects only when the store is unavailable. */
  settleMany(inputs: readonly Settlement[]): Promise<unknown>;
  /** Releases holds older than `olderThan` whose settlement never came (a dropped event). */
  releaseStale(olderThan: number, now: number): Promise<number>;
  /**
   * Whether `amountMicros` more would fit in the balance (when prepaid) and every budget of the
   * caller with room to spare; a hint for choosing how precise an estimate must be, not a hold.
   */
  hasRoomFor?(input: Omit<ReserveInput, 'reservationId'>): Promise<boolean>;
  /** The amount held by open reservations of an organization, when this ledger knows it. */
  heldMicros?(orgId: string): number;
  /** Forgets what is cached of an organization (its budgets or credits changed). */
  invalidate?(orgId?: string): void;
}

/** The store's reservation tables (several instances on PostgreSQL): every call is a transaction. */
export function storeLedger(billing: BillingRepository): ReservationLedger {
  return {
    reserve: (input) => billing.reserve(input),
    settleMany: (inputs) => billing.settleMany(inputs),
    releaseStale: (olderThan, now) => billing.releaseStale(olderThan, now),
  };
}

interface Hold {
  amountMicros: number;
  projectId: string | null;
  keyId: string | null;
  createdAt: number;
}

interface OrgLedger {
  snapshot?: LedgerSnapshot;
  /** Bumped whenever a settlement replaces the snapshot: a read started before then is stale. */
  version: number;
  loading?: Promise<void>;
  /** Set by `invalidate`: the next reservation waits for a fresh read. */
  mustReload: boolean;
  holds: Map<string, Hold>;
  heldOrg: number;
  /** Held amounts by `project:<id>` and `key:<id>`. */
  heldByScope: Map<string, number>;
}

export interface LocalLedgerOptions {
  billing: Pick<BillingRepository, 'chargeMany' | 'ledgerSnapshot'>;
  clock: Clock;
  /**
   * A snapshot older than this is read again in the background while requests go on with it, so
   * credits and budgets changed by another process (the CLI) apply within about this long.
   */
  refreshAfterMs?: number;
}

function scopeKey(scope: 'project' | 'key', id: string): string {
  return `${scope}:${id}`;
}

/**
 * Reservations held in this process's memory against a snapshot of each organization's balance and
 * budgets (decision 0011). Only sound where this process is the only one charging the database, i.e.
 * the embedded SQLite store (SPEC §10: single instance). The check-and-hold is atomic because it runs
 * without an `await` between reading the sums and adding the hold. A settlement is written with its
 * request-log batch (`chargeMany`, which reads the snapshot again in the same transaction) and only
 * then is its hold released, so at every moment `available = snapshot − holds` counts each request
 * exactly once or, briefly, twice (never zero times).
 */
export class LocalLedger implements ReservationLedger {
  private readonly orgs = new Map<string, OrgLedger>();
  private readonly refreshAfterMs: number;

  constructor(private readonly options: LocalLedgerOptions) {
    this.refreshAfterMs = options.refreshAfterMs ?? 1000;
  }

  private orgOf(orgId: string): OrgLedger {
    let org = this.orgs.get(orgId);
    if (!org) {
      org = { version: 0, mustReload: true, holds: new Map(), heldOrg: 0, heldByScope: new Map() };
      this.orgs.set(orgId, org);
    }
    return org;
  }

  /** Reads the organization again; a read overtaken by a settlement is dropped (the settlement's is newer). */
  private load(orgId: string, org: OrgLedger): Promise<void> {
    if (org.loading) return org.loading;
    const version = org.version;
    const loading = this.options.billing
      .ledgerSnapshot(orgId, this.options.clock.now())
      .then((snapshot) => {
        if (org.version === version) {
          org.snapshot = snapshot;
          org.mustReload = false;
        }
      })
      .finally(() => {
        org.loading = undefined;
      });
    org.loading = loading;
    return loading;
  }

  private isCurrent(snapshot: LedgerSnapshot, now: number): boolean {
    // Budget spend is per day and month: a snapshot from another day counts the wrong periods.
    return periodStartOf('day', snapshot.readAt) === periodStartOf('day', now);
  }

  /** The organization's snapshot, read first when missing, invalidated or of another day. */
  private async snapshotOf(
    org: OrgLedger,
    orgId: string,
    now: number,
  ): Promise<{ snapshot: LedgerSnapshot | undefined; isFresh: boolean }> {
    let isFresh = false;
    while (org.mustReload || !org.snapshot || !this.isCurrent(org.snapshot, now)) {
      await this.load(orgId, org);
      isFresh = true;
      if (org.snapshot && !org.mustReload) break;
    }
    const snapshot = org.snapshot;
    if (snapshot && now - snapshot.readAt > this.refreshAfterMs && !org.loading) {
      this.load(orgId, org).catch(() => {
        // The next reservation past the refresh age tries again; this one goes on with the snapshot.
      });
    }
    return { snapshot, isFresh };
  }

  async hasRoomFor(input: Omit<ReserveInput, 'reservationId'>): Promise<boolean> {
    const org = this.orgOf(input.orgId);
    const { snapshot } = await this.snapshotOf(org, input.orgId, input.now);
    return snapshot !== undefined && this.admit(org, snapshot, input).ok;
  }

  async reserve(input: ReserveInput): Promise<ReserveResult> {
    const org = this.orgOf(input.orgId);
    const { snapshot, isFresh } = await this.snapshotOf(org, input.orgId, input.now);
    if (snapshot === undefined) return { ok: false, code: 'billing_not_configured' };
    const result = this.tryHold(org, snapshot, input);
    if (result.ok || isFresh) return result;
    // Refuse only on a fresh read: credits or a budget may have changed in another process (the CLI).
    this.invalidate(input.orgId);
    return this.reserve(input);
  }

  /** The check and the hold, in one synchronous step. */
  private tryHold(org: OrgLedger, snapshot: LedgerSnapshot, input: ReserveInput): ReserveResult {
    if (org.holds.has(input.reservationId)) return { ok: true };
    const result = this.admit(org, snapshot, input);
    if (!result.ok) return result;
    this.hold(org, input.reservationId, {
      amountMicros: Math.ceil(input.amountMicros),
      projectId: input.projectId,
      keyId: input.keyId,
      createdAt: input.now,
    });
    return result;
  }

  /** Whether the amount fits the balance (when prepaid) and every budget of the caller, beside the holds. */
  private admit(
    org: OrgLedger,
    snapshot: LedgerSnapshot,
    input: Omit<ReserveInput, 'reservationId'>,
  ): ReserveResult {
    if (!snapshot.orgExists) return { ok: false, code: 'billing_not_configured' };
    const amount = Math.ceil(input.amountMicros);
    if (input.prepaid) {
      if (!snapshot.account?.isConfigured) return { ok: false, code: 'billing_not_configured' };
      const availableMicros = snapshot.account.balanceMicros - org.heldOrg;
      if (amount > availableMicros) return { ok: false, code: 'insufficient_credits', availableMicros };
    }
    for (const budget of snapshot.budgets) {
      const held = this.heldFor(org, budget, input);
      if (held === undefined) continue;
      if (budget.spentMicros + held + amount > budget.limitMicros) {
        return { ok: false, code: 'budget_exceeded', budget };
      }
    }
    return { ok: true };
  }

  /** What is held against the budget's scope, or `undefined` when the budget does not cover the request. */
  private heldFor(
    org: OrgLedger,
    budget: BudgetRecord,
    input: Pick<ReserveInput, 'projectId' | 'keyId'>,
  ): number | undefined {
    switch (budget.scope) {
      case 'org':
        return org.heldOrg;
      case 'project':
        if (budget.scopeId !== input.projectId) return undefined;
        return org.heldByScope.get(scopeKey('project', budget.scopeId)) ?? 0;
      case 'key':
        if (budget.scopeId !== input.keyId) return undefined;
        return org.heldByScope.get(scopeKey('key', budget.scopeId)) ?? 0;
    }
  }

  private hold(org: OrgLedger, id: string, hold: Hold): void {
    org.holds.set(id, hold);
    this.addHeld(org, hold, hold.amountMicros);
  }

  private unhold(org: OrgLedger, id: string): void {
    const hold = org.holds.get(id);
    if (!hold) return;
    org.holds.delete(id);
    this.addHeld(org, hold, -hold.amountMicros);
  }

  private addHeld(org: OrgLedger, hold: Hold, amount: number): void {
    org.heldOrg += amount;
    for (const key of [
      hold.projectId === null ? undefined : scopeKey('project', hold.projectId),
      hold.keyId === null ? undefined : scopeKey('key', hold.keyId),
    ]) {
      if (key === undefined) continue;
      const next = (org.heldByScope.get(key) ?? 0) + amount;
      if (next === 0) org.heldByScope.delete(key);
      else org.heldByScope.set(key, next);
    }
  }

  async settleMany(inputs: readonly Settlement[]): Promise<unknown> {
    if (inputs.length === 0) return [];
    const charges = inputs.map(chargeOf).filter((charge) => charge !== undefined);
    const { results } = await this.settleWritten(inputs, (now) =>
      this.options.billing.chargeMany(charges, now),
    );
    return results;
  }

  /**
   * Runs `write`, which charges `settlements` (with the request-log batch they ride on, decision
   * 0014) and answers with fresh snapshots of the organizations charged; then takes those snapshots
   * and releases the settlements' holds together.
   */
  async settleWritten<Written extends { snapshots: readonly LedgerSnapshot[] }>(
    settlements: readonly Settlement[],
    write: (now: number) => Promise<Written>,
  ): Promise<Written> {
    // Settlements are applied one batch at a time, so only `invalidate` moves these while we wait.
    const versions = new Map<string, number>();
    for (const { orgId } of settlements) {
      if (orgId !== null && !versions.has(orgId)) versions.set(orgId, this.orgOf(orgId).version);
    }
    const written = await write(this.options.clock.now());
    // From here on nothing awaits: new snapshots and released holds take effect together.
    for (const snapshot of written.snapshots) {
      const org = this.orgOf(snapshot.orgId);
      org.snapshot = snapshot;
      // A change signalled while the charge ran may be missing from its snapshot: read again first.
      if (org.version === versions.get(snapshot.orgId)) org.mustReload = false;
      org.version += 1;
    }
    for (const settlement of settlements) {
      const org = settlement.orgId === null ? undefined : this.orgs.get(settlement.orgId);
      if (org) this.unhold(org, settlement.reservationId);
    }
    return written;
  }

  async releaseStale(olderThan: number): Promise<number> {
    let released = 0;
    for (const org of this.orgs.values()) {
      for (const [id, hold] of org.holds) {
        if (hold.createdAt >= olderThan) continue;
        this.unhold(org, id);
        released += 1;
      }
    }
    return released;
  }

  heldMicros(orgId: string): number {
    return this.orgs.get(orgId)?.heldOrg ?? 0;
  }

  invalidate(orgId?: string): void {
    const orgs = orgId === undefined ? [...this.orgs.values()] : [this.orgs.get(orgId)];
    for (const org of orgs) {
      if (!org) continue;
      org.mustReload = true;
      // A read already under way may predate the change.
      org.version += 1;
    }
  }
}
