import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeyAuthenticator } from '#src/auth/key-authenticator.js';
import { RedisRevocationBus, revocationChannel } from '#src/auth/redis-revocation-bus.js';
import { LocalRevocationBus, type RevocationBus } from '#src/auth/revocation-bus.js';
import { bearer, createAuthFixture, resolveAcme } from './authenticator-fixture.js';
import { FakeApiKeys, organization } from './fake-api-keys.js';
import { ManualClock } from './manual-clock.js';

const auth = {
  internalKey: undefined,
  cacheTtlSeconds: 5,
  negativeCacheTtlSeconds: 5,
  staleIfErrorSeconds: 300,
};

/** Two gateway instances over one store, each with its own cache and bus. */
function twoInstances(buses: [RevocationBus, RevocationBus]) {
  const apiKeys = new FakeApiKeys();
  const clock = new ManualClock();
  const [acting, other] = buses.map(
    (revocations) =>
      new KeyAuthenticator({ apiKeys, clock, auth, resolveInternalAttribution: resolveAcme, revocations }),
  ) as [KeyAuthenticator, KeyAuthenticator];
  return { apiKeys, clock, acting, other };
}

async function codeOf(authenticator: KeyAuthenticator, key: string): Promise<string> {
  try {
    authenticator.verdict(await authenticator.lookup(bearer(key)));
    return 'ok';
  } catch (error) {
    return (error as { code: string }).code;
  }
}

describe('revocation without a bus', () => {
  it('takes effect at once on the acting instance and within cacheTtlSeconds elsewhere', async () => {
    const { apiKeys, clock, acting, other } = twoInstances([
      new LocalRevocationBus(),
      new LocalRevocationBus(),
    ]);
    const { key, row } = apiKeys.add();
    expect([await codeOf(acting, key), await codeOf(other, key)]).toEqual(['ok', 'ok']);
    row.revokedAt = clock.now();
    await acting.propagateRevocation(row.id);
    expect(await codeOf(acting, key)).toBe('invalid_api_key');
    expect(await codeOf(other, key)).toBe('ok');
    clock.advance(4_999);
    expect(await codeOf(other, key)).toBe('ok');
    clock.advance(1);
    expect(await codeOf(other, key)).toBe('invalid_api_key');
  });
});

describe('LocalRevocationBus', () => {
  it('takes effect on every subscribed authenticator at once', async () => {
    const bus = new LocalRevocationBus();
    const { apiKeys, acting, other } = twoInstances([bus, bus]);
    const { key, row } = apiKeys.add();
    await codeOf(acting, key);
    await codeOf(other, key);
    row.disabledAt = 1;
    await acting.propagateRevocation(row.id);
    expect(await codeOf(other, key)).toBe('invalid_api_key');
    expect(await codeOf(acting, key)).toBe('invalid_api_key');
  });

  it('stops delivering to a closed authenticator', async () => {
    const bus = new LocalRevocationBus();
    const { apiKeys, acting, other } = twoInstances([bus, bus]);
    const { key, row } = apiKeys.add();
    await codeOf(other, key);
    other.close();
    row.revokedAt = 1;
    await acting.propagateRevocation(row.id);
    expect(await codeOf(other, key)).toBe('ok');
  });

  it('reports a failed broadcast and still invalidates locally', async () => {
    const busErrors: unknown[] = [];
    const failing: RevocationBus = {
      publish: async () => {
        throw new Error('redis down');
      },
      subscribe: () => () => {},
    };
    const { authenticator, apiKeys } = createAuthFixture({
      revocations: failing,
      onBusError: (error) => busErrors.push(error),
    });
    const { key, row } = apiKeys.add();
    await codeOf(authenticator, key);
    row.revokedAt = 1;
    await authenticator.propagateRevocation(row.id);
    expect(await codeOf(authenticator, key)).toBe('invalid_api_key');
    expect(busErrors).toHaveLength(1);
  });
});

describe('RedisRevocationBus', () => {
  const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
  let buses: [RedisRevocationBus, RedisRevocationBus];
  let listener: Redis;

  beforeAll(async () => {
    buses = [RedisRevocationBus.connect(redisUrl), RedisRevocationBus.connect(redisUrl)];
    listener = new Redis(redisUrl);
    await Promise.all([...buses.map((bus) => bus.ready), listener.subscribe(revocationChannel)]);
  });
  afterAll(async () => {
    await Promise.all([...buses.map((bus) => bus.close()), listener.quit()]);
  });

  /** Resolves when `bus` has delivered `id` (to handlers subscribed before this one). */
  const delivered = (bus: RevocationBus, id: string) =>
    new Promise<void>((resolve) => {
      const unsubscribe = bus.subscribe((message) => {
        if (message !== id) return;
        unsubscribe();
        resolve();
      });
    });

  it('revokes on another instance, over separate connections, as soon as the message arrives', async () => {
    const { apiKeys, clock, acting, other } = twoInstances(buses);
    const keyId = `key_${randomUUID()}`;
    const { key, row } = apiKeys.add({ id: keyId });
    expect([await codeOf(acting, key), await codeOf(other, key)]).toEqual(['ok', 'ok']);
    row.revokedAt = clock.now();
    expect(await codeOf(other, key)).toBe('ok');

    const onChannel = new Promise<string>((resolve) => {
      listener.on('message', (channel: string, message: string) => {
        if (channel === revocationChannel && message === keyId) resolve(message);
      });
    });
    const arrived = delivered(buses[1], keyId);
    await acting.propagateRevocation(keyId);
    expect(await codeOf(acting, key)).toBe('invalid_api_key');
    await arrived;
    expect(await codeOf(other, key)).toBe('invalid_api_key');
    expect(await onChannel).toBe(keyId);
    expect(apiKeys.calls).toHaveLength(4);
    acting.close();
    other.close();
  });

  it('invalidates every key of an organization named in the message', async () => {
    const { apiKeys, acting, other } = twoInstances(buses);
    const orgId = `org_${randomUUID()}`;
    const first = apiKeys.add({ orgId });
    const second = apiKeys.add({ orgId });
    await codeOf(other, first.key);
    await codeOf(other, second.key);
    for (const { row } of [first, second]) row.organization = organization({ id: orgId, disabled: true });
    const arrived = delivered(buses[1], orgId);
    await acting.propagateRevocation(orgId);
    await arrived;
    expect([await codeOf(other, first.key), await codeOf(other, second.key)]).toEqual([
      'organization_disabled',
      'organization_disabled',
    ]);
    acting.close();
    other.close();
  });

  it('fails a broadcast fast when Redis is unreachable, and still revokes locally', async () => {
    const busErrors: unknown[] = [];
    const unreachable = RedisRevocationBus.connect('redis://127.0.0.1:1', { onError: () => {} });
    const { authenticator, apiKeys } = createAuthFixture({
      revocations: unreachable,
      onBusError: (error) => busErrors.push(error),
    });
    const { key, row } = apiKeys.add();
    await codeOf(authenticator, key);
    row.revokedAt = 1;
    await authenticator.propagateRevocation(row.id);
    expect(busErrors).toHaveLength(1);
    expect(await codeOf(authenticator, key)).toBe('invalid_api_key');
    await unreachable.close();
  });
});
