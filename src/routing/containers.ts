import type { Clock } from '../clock.js';
import type { ContainerRecord } from '../store/repositories.js';

/** `maniac:<label>[:<pin>]` or `maniac/<label>…` (SPEC §5.2 step 2); `undefined` for other names. */
export function parseContainerModel(model: string): { label: string; pin: string | undefined } | undefined {
  const separator = model.search(/[/:]/);
  if (separator === -1 || model.slice(0, separator).toLowerCase() !== 'maniac') return undefined;
  const rest = model.slice(separator + 1);
  const pinAt = rest.search(/[/:]/);
  if (pinAt === -1) return { label: rest, pin: undefined };
  return { label: rest.slice(0, pinAt), pin: rest.slice(pinAt + 1) };
}

export interface ContainerLookup {
  get(projectId: string, label: string): Promise<ContainerRecord | undefined>;
}

/**
 * Container reads for routing, cached briefly per project and label (unknown labels too) so that a
 * `maniac:` request costs no store round trip when the container was seen in the last few seconds.
 * Changes made on this instance invalidate at once; other instances converge within the TTL.
 */
export class ContainerRouter {
  private readonly cache = new Map<string, { container: ContainerRecord | undefined; readAt: number }>();
  private readonly maxEntries = 10_000;

  constructor(
    private readonly lookup: ContainerLookup,
    private readonly clock: Clock,
    private readonly ttlMs = 5000,
  ) {}

  async find(projectId: string, label: string): Promise<ContainerRecord | undefined> {
    const key = `${projectId}\u0000${label}`;
    const now = this.clock.monotonic();
    const cached = this.cache.get(key);
    if (cached && now - cached.readAt < this.ttlMs) return cached.container;
    const container = await this.lookup.get(projectId, label);
    if (this.cache.size >= this.maxEntries) this.cache.clear();
    this.cache.set(key, { container, readAt: now });
    return container;
  }

  invalidate(projectId: string, label: string): void {
    this.cache.delete(`${projectId}\u0000${label}`);
  }
}
