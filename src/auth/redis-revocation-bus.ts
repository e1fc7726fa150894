import { Redis } from 'ioredis';
import { deliver, type RevocationBus, type RevocationHandler } from './revocation-bus.js';

export const revocationChannel = 'mgw:auth:revoked';
/** Longer messages are not ids we publish; they are ignored rather than scanned against the cache. */
const maxMessageLength = 256;

export interface RedisRevocationBusOptions {
  /** Any connection; it may be shared, e.g. with the rate limiter. */
  publisher: Redis;
  /**
   * A dedicated connection: once subscribed, a Redis connection can run no other command. Give it
   * `maxRetriesPerRequest: null` so a SUBSCRIBE sent during an outage waits instead of failing.
   */
  subscriber: Redis;
  channel?: string;
  /** Connection errors and failing handlers. */
  onError?(error: unknown): void;
  /** Quit both connections on `close()` (set by `connect`, which opened them). */
  ownsConnections?: boolean;
}

/**
 * Revocations over Redis pub/sub on `mgw:auth:revoked`. Pub/sub is fire-and-forget: an instance that
 * is disconnected when a message is sent misses it (ioredis re-subscribes on reconnect) and converges
 * when its cache entry expires, within `auth.cacheTtlSeconds`.
 */
export class RedisRevocationBus implements RevocationBus {
  /** Resolves once the subscription is acknowledged; messages published before may be missed. */
  readonly ready: Promise<void>;
  private readonly handlers = new Set<RevocationHandler>();
  private readonly channel: string;
  private readonly onError: (error: unknown) => void;

  /** Opens its own two connections to `url`. */
  static connect(
    url: string,
    options: Pick<RedisRevocationBusOptions, 'channel' | 'onError'> = {},
  ): RedisRevocationBus {
    // One retry: a revocation is also enforced by the TTL, so a publish should fail fast, not queue.
    const publisher = new Redis(url, { maxRetriesPerRequest: 1 });
    // No retry limit: a SUBSCRIBE sent while Redis is down must wait for it, or this instance would
    // never subscribe (ioredis re-subscribes only channels it once subscribed to).
    const subscriber = new Redis(url, { maxRetriesPerRequest: null });
    return new RedisRevocationBus({ ...options, publisher, subscriber, ownsConnections: true });
  }

  constructor(private readonly options: RedisRevocationBusOptions) {
    this.channel = options.channel ?? revocationChannel;
    this.onError = options.onError ?? (() => {});
    if (options.ownsConnections) {
      options.publisher.on('error', this.onError);
      options.subscriber.on('error', this.onError);
    }
    options.subscriber.on('message', this.onMessage);
    this.ready = options.subscriber.subscribe(this.channel).then(() => undefined);
    this.ready.catch(this.onError);
  }

  async publish(id: string): Promise<void> {
    await this.options.publisher.publish(this.channel, id);
  }

  subscribe(handler: RevocationHandler): () => void {
    this.handlers.add(handler);
    return () => {
      this.handlers.delete(handler);
    };
  }

  async close(): Promise<void> {
    const { publisher, subscriber, ownsConnections } = this.options;
    subscriber.off('message', this.onMessage);
    this.handlers.clear();
    if (ownsConnections) {
      await Promise.all([closeConnection(publisher), closeConnection(subscriber)]);
    } else {
      await subscriber.unsubscribe(this.channel);
    }
  }

  private readonly onMessage = (channel: string, message: string): void => {
    if (channel !== this.channel || message.length === 0 || message.length > maxMessageLength) return;
    for (const error of deliver(this.handlers, message)) this.onError(error);
  };
}

/** QUIT when connected (replies flushed); otherwise drop the reconnect loop at once. */
async function closeConnection(redis: Redis): Promise<void> {
  if (redis.status === 'ready') await redis.quit();
  else redis.disconnect();
}
