import type { ChatCompletionRequest } from '../api/wire/chat.js';
import type { Clock } from '../clock.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { UpstreamTarget } from '../providers/provider.js';
import type { BillingRepository, ReserveResult } from '../store/repositories.js';
import { estimateMicros, formatUsd } from './cost.js';
import type { ReservationLedger } from './local-ledger.js';
import { countPromptTokens, imagePartsOf, loadTokenizer, promptTokenBound } from './prompt-tokens.js';

/** Who pays: the caller's organization, project and key (a Principal fits). */
export interface BillingSubject {
  orgId: string;
  projectId: string;
  keyId: string;
  isInternal: boolean;
}

/** A held worst-case amount, settled from actual usage when the request's event is written. */
export interface Reservation {
  id: string;
  amountMicros: number;
}

export interface BillingGateOptions {
  /** Where reservations are held: the store's tables or this process's memory (decision 0011). */
  ledger: ReservationLedger;
  /** Budget lists, to skip reserving for callers without any budget when billing is off. */
  budgets: Pick<BillingRepository, 'listBudgets'>;
  mode: 'off' | 'prepaid';
  clock: Clock;
  newReservationId: () => string;
  /** How long an organization's budget list is trusted before it is read again. */
  budgetCacheTtlMs?: number;
  onRejected?(code: string): void;
}

/**
 * With this many times the tokenizer-free bound to spare in the balance and every budget, the bound
 * is held as is: the exact count could not change the answer, and the tokenizer (about 60 MB) is
 * loaded only once some caller comes near an edge (docs/decisions/0011).
 */
const roomFactor = 100;

/** Thinking budgets of SPEC §4 by effort; reserved on top of the output cap. */
const thinkingBudgetByEffort: Record<string, number> = {
  minimal: 1024,
  low: 2048,
  medium: 8192,
  high: 24576,
};

function thinkingBudgetOf(request: ChatCompletionRequest): number {
  if (request.reasoning?.max_tokens !== undefined) return request.reasoning.max_tokens;
  const effort = request.reasoning?.effort ?? request.reasoning_effort;
  return effort ? (thinkingBudgetByEffort[effort] ?? 0) : 0;
}

/**
 * The billing pre-flight of SPEC §8.1: estimate the worst case over every candidate, then reserve it
 * atomically in the store (balance when prepaid, budgets always). Fail-closed: a store failure is
 * 503 `billing_unavailable`. With billing off and no budget on the caller's organization, project or
 * key, nothing is reserved and the store is not touched on the request path.
 */
export class BillingGate {
  private readonly budgetScopes = new Map<string, { scopeIds: Set<string>; readAt: number }>();
  private readonly budgetCacheTtlMs: number;

  constructor(private readonly options: BillingGateOptions) {
    this.budgetCacheTtlMs = options.budgetCacheTtlMs ?? 5000;
  }

  /** Forgets cached budget lists and balances (after a budget or credit changes on this instance). */
  invalidateBudgets(orgId?: string): void {
    if (orgId === undefined) this.budgetScopes.clear();
    else this.budgetScopes.delete(orgId);
    this.options.ledger.invalidate?.(orgId);
  }

  private async hasBudget(principal: BillingSubject): Promise<boolean> {
    const now = this.options.clock.now();
    let cached = this.budgetScopes.get(principal.orgId);
    if (!cached || now - cached.readAt > this.budgetCacheTtlMs) {
      const budgets = await this.options.budgets.listBudgets({ orgId: principal.orgId, now });
      cached = { scopeIds: new Set(budgets.map((budget) => budget.scopeId)), readAt: now };
      this.budgetScopes.set(principal.orgId, cached);
    }
    return (
      cached.scopeIds.has(principal.orgId) ||
      cached.scopeIds.has(principal.projectId) ||
      cached.scopeIds.has(principal.keyId)
    );
  }

  /** What this process holds in memory for the organization's open reservations (0 with the store's ledger). */
  heldMicros(orgId: string): number {
    return this.options.ledger.heldMicros?.(orgId) ?? 0;
  }

  /** Worst case over the candidates (SPEC §8.1), in micro-dollars. */
  estimate(
    request: ChatCompletionRequest,
    candidates: UpstreamTarget[],
    promptTokens = countPromptTokens(request),
  ): number {
    const images = imagePartsOf(request);
    const thinking = thinkingBudgetOf(request);
    let worst = 0;
    for (const { model } of candidates) {
      const output =
        (request.max_completion_tokens ?? request.max_tokens ?? model.maxOutputTokens ?? 4096) + thinking;
      worst = Math.max(worst, estimateMicros(model.pricing, promptTokens, output, images));
    }
    return worst;
  }

  /**
   * The amount to hold: the tokenizer-free bound when the caller is far from every limit, else the
   * estimate with prompt tokens counted by the o200k tokenizer (decision 0010).
   */
  private async amountFor(
    principal: BillingSubject,
    request: ChatCompletionRequest,
    candidates: UpstreamTarget[],
  ): Promise<number> {
    const bound = this.estimate(request, candidates, promptTokenBound(request));
    let hasRoom = false;
    try {
      hasRoom =
        (await this.options.ledger.hasRoomFor?.({
          orgId: principal.orgId,
          projectId: principal.projectId,
          keyId: principal.keyId,
          amountMicros: bound * roomFactor,
          prepaid: this.options.mode === 'prepaid',
          now: this.options.clock.now(),
        })) ?? false;
    } catch (error) {
      throw new GatewayError('billing_unavailable', {}, { cause: error });
    }
    if (hasRoom) return bound;
    await loadTokenizer();
    return this.estimate(request, candidates);
  }

  async reserve(
    principal: BillingSubject,
    request: ChatCompletionRequest,
    candidates: UpstreamTarget[],
  ): Promise<Reservation | undefined> {
    if (principal.isInternal) return undefined;
    try {
      if (this.options.mode === 'off' && !(await this.hasBudget(principal))) return undefined;
    } catch (error) {
      throw new GatewayError('billing_unavailable', {}, { cause: error });
    }
    const reservation: Reservation = {
      id: this.options.newReservationId(),
      amountMicros: await this.amountFor(principal, request, candidates),
    };
    let result: ReserveResult;
    try {
      result = await this.options.ledger.reserve({
        reservationId: reservation.id,
        orgId: principal.orgId,
        projectId: principal.projectId,
        keyId: principal.keyId,
        amountMicros: reservation.amountMicros,
        prepaid: this.options.mode === 'prepaid',
        now: this.options.clock.now(),
      });
    } catch (error) {
      throw new GatewayError('billing_unavailable', {}, { cause: error });
    }
    if (result.ok) return reservation;
    this.options.onRejected?.(result.code);
    switch (result.code) {
      case 'billing_not_configured':
        throw new GatewayError('billing_not_configured');
      case 'insufficient_credits':
        throw new GatewayError('insufficient_credits', {
          estimate: formatUsd(reservation.amountMicros),
          available: formatUsd(Math.max(0, result.availableMicros ?? 0)),
        });
      case 'budget_exceeded': {
        const budget = result.budget;
        throw new GatewayError('budget_exceeded', {
          scope: budget?.scope ?? 'org',
          id: budget?.scopeId ?? principal.orgId,
          period: budget?.period ?? 'total',
          limit: formatUsd(budget?.limitMicros ?? 0),
        });
      }
    }
  }
}
