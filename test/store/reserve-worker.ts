/**
 * Runs in a worker thread with its own store (its own SQLite connection or PostgreSQL pool), standing
 * in for a second gateway process: reserves `count` times at once and reports how many succeeded.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { type CreateStoreOptions, createStore } from '../../src/store/create-store.js';

export interface RaceOrder {
  url: string;
  storeOptions: Pick<CreateStoreOptions, 'postgres'>;
  prefix: string;
  count: number;
  tenant: { orgId: string; projectId: string; keyId: string };
  amountMicros: number;
}

const order = workerData as RaceOrder;
const store = await createStore(order.url, { ...order.storeOptions, migrate: false });
// Start together: the parent says 'go' once every worker has its connection open.
await new Promise<void>((resolve) => {
  parentPort?.once('message', () => resolve());
  parentPort?.postMessage('ready');
});
try {
  const results = await Promise.allSettled(
    Array.from({ length: order.count }, (_, index) =>
      store.billing.reserve({
        reservationId: `${order.prefix}_${index}`,
        ...order.tenant,
        amountMicros: order.amountMicros,
        prepaid: true,
        now: 0,
      }),
    ),
  );
  const ok = results.filter((result) => result.status === 'fulfilled' && result.value.ok).length;
  const errors = results
    .filter((result) => result.status === 'rejected')
    .map((result) => String(result.reason));
  parentPort?.postMessage({ ok, errors });
} finally {
  await store.close();
}
