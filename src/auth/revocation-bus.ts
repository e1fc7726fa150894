/** Receives the id of something revoked: a key hash, a key id or an organization id. */
export type RevocationHandler = (id: string) => void;

/**
 * Carries "drop this from your key cache" between gateway instances, so a disable or revoke takes
 * effect everywhere at once instead of after the cache TTL (SPEC §6). Delivery is best effort: a lost
 * message only means that instance converges when its cache entry expires (`auth.cacheTtlSeconds`).
 */
export interface RevocationBus {
  /** Announces a revocation to every subscriber, on every instance (this one included). */
  publish(id: string): Promise<void>;
  /** Returns a function that unsubscribes the handler. */
  subscribe(handler: RevocationHandler): () => void;
}

/** Single-process bus: delivers synchronously to every subscriber in this process. */
export class LocalRevocationBus implements RevocationBus {
  private readonly handlers = new Set<RevocationHandler>();

  async publish(id: string): Promise<void> {
    const errors = deliver(this.handlers, id);
    if (errors.length > 0) throw new AggregateError(errors, 'revocation handler failed');
  }

  subscribe(handler: RevocationHandler): () => void {
    this.handlers.add(handler);
    return () => {
      this.handlers.delete(handler);
    };
  }
}

/** Calls each handler in subscription order; one failing handler does not starve the others. */
export function deliver(handlers: Iterable<RevocationHandler>, id: string): unknown[] {
  const errors: unknown[] = [];
  for (const handler of [...handlers]) {
    try {
      handler(id);
    } catch (error) {
      errors.push(error);
    }
  }
  return errors;
}
