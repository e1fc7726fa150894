import type { Clock } from '../clock.js';
import { GatewayError, invalidValue } from '../errors/gateway-error.js';
import { internalPrincipal } from './internal-key.js';
import type { InternalKeyResult } from './key-lookup-result.js';

export const orgHeader = 'x-maniac-org';
export const projectHeader = 'x-maniac-project';

export type RequestHeaders = Readonly<Record<string, string | string[] | undefined>>;

export interface Attribution {
  orgId: string;
  projectId: string;
}

/**
 * Finds an existing organization (by id or name) and project for internal-key attribution. With no
 * `projectId` it answers the organization's `default` project; with no `orgIdOrName`, the project's
 * own organization. `undefined` means no such organization, or no such project in it.
 */
export type InternalAttributionResolver = (
  orgIdOrName: string | undefined,
  projectId: string | undefined,
) => Promise<Attribution | undefined>;

export interface InternalAttributionOptions {
  resolve: InternalAttributionResolver;
  clock: Clock;
  ttlMs: number;
  staleIfErrorMs: number;
  maxEntries: number;
  onStoreError(error: unknown): void;
}

interface Entry {
  outcome: Attribution | GatewayError;
  freshUntilMs: number;
  staleUntilMs: number;
}

const unattributed: InternalKeyResult = Object.freeze({
  kind: 'internal',
  principal: internalPrincipal,
  rejection: undefined,
});

function headerValue(headers: RequestHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Applies `x-maniac-org` / `x-maniac-project` to the internal key (SPEC §6). The internal service may
 * send them on every request, so answers are cached like keys (TTL, single flight, stale-if-error):
 * a store blip must not fail the platform's own traffic. Unknown org or project → 400 naming the
 * header; a failing resolver with nothing cached fails closed (503).
 */
export class InternalAttribution {
  private readonly cache = new Map<string, Entry>();
  private readonly inflight = new Map<string, Promise<Attribution | GatewayError | undefined>>();

  constructor(private readonly options: InternalAttributionOptions) {}

  /** Never throws. */
  async attribute(headers: RequestHeaders): Promise<InternalKeyResult> {
    const org = headerValue(headers, orgHeader);
    const project = headerValue(headers, projectHeader);
    if (org === undefined && project === undefined) return unattributed;
    const cacheKey = `${org ?? ''}\n${project ?? ''}`;
    const nowMs = this.options.clock.monotonic();
    const entry = this.cache.get(cacheKey);
    let outcome = entry !== undefined && nowMs < entry.freshUntilMs ? entry.outcome : undefined;
    outcome ??= await this.load(cacheKey, org, project);
    if (outcome === undefined) {
      const stale = this.cache.get(cacheKey);
      outcome =
        stale !== undefined &&
        this.options.clock.monotonic() < stale.staleUntilMs &&
        !(stale.outcome instanceof GatewayError)
          ? stale.outcome
          : new GatewayError('auth_unavailable');
    }
    if (outcome instanceof GatewayError) {
      return { kind: 'internal', principal: internalPrincipal, rejection: outcome };
    }
    const principal = { ...internalPrincipal, orgId: outcome.orgId, projectId: outcome.projectId };
    return { kind: 'internal', principal, rejection: undefined };
  }

  /** Resolves and caches; `undefined` when the resolver failed. */
  private load(
    cacheKey: string,
    org: string | undefined,
    project: string | undefined,
  ): Promise<Attribution | GatewayError | undefined> {
    const running = this.inflight.get(cacheKey);
    if (running !== undefined) return running;
    const promise = this.resolve(org, project)
      .then((outcome) => {
        const nowMs = this.options.clock.monotonic();
        this.cache.delete(cacheKey);
        if (this.cache.size >= this.options.maxEntries) {
          const oldest = this.cache.keys().next();
          if (!oldest.done) this.cache.delete(oldest.value);
        }
        this.cache.set(cacheKey, {
          outcome,
          freshUntilMs: nowMs + this.options.ttlMs,
          staleUntilMs: nowMs + this.options.ttlMs + this.options.staleIfErrorMs,
        });
        return outcome;
      })
      .catch((error: unknown) => {
        this.options.onStoreError(error);
        return undefined;
      })
      .finally(() => {
        if (this.inflight.get(cacheKey) === promise) this.inflight.delete(cacheKey);
      });
    this.inflight.set(cacheKey, promise);
    return promise;
  }

  private async resolve(
    org: string | undefined,
    project: string | undefined,
  ): Promise<Attribution | GatewayError> {
    const resolved = await this.options.resolve(org, project);
    if (resolved !== undefined) return { orgId: resolved.orgId, projectId: resolved.projectId };
    // Which header to blame: the organization when it is unknown by itself, else the project.
    const isOrgUnknown =
      org !== undefined &&
      (project === undefined || (await this.options.resolve(org, undefined)) === undefined);
    return isOrgUnknown
      ? invalidValue(orgHeader, 'no such organization')
      : invalidValue(projectHeader, 'no such project');
  }
}
