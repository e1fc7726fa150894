import { randomFillSync, randomUUID } from 'node:crypto';

const base62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const crockford = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** Random bytes drawn from a pooled buffer: one system call per 4 KiB instead of one per id. */
const pool = Buffer.allocUnsafe(4096);
let poolOffset = pool.length;

function randomByte(): number {
  if (poolOffset >= pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  return pool[poolOffset++] as number;
}

/** Random base62 string; rejection sampling keeps every character equally likely. */
export function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    const byte = randomByte();
    if (byte < 248) out += base62[byte % 62];
  }
  return out;
}

/** A ULID (time-ordered, 26 Crockford base32 characters). */
export function ulid(nowMs: number): string {
  let time = '';
  let value = nowMs;
  for (let index = 0; index < 10; index++) {
    time = crockford[value % 32] + time;
    value = Math.floor(value / 32);
  }
  let random = '';
  for (let index = 0; index < 16; index++) random += crockford[randomByte() % 32];
  return time + random;
}

/** Every id the gateway mints, in one injectable place (tests may replace it). */
export interface Ids {
  chatCompletion(): string;
  toolCall(): string;
  request(nowMs: number): string;
  event(nowMs: number): string;
  uuid(): string;
}

export const ids: Ids = {
  chatCompletion: () => `chatcmpl-${randomBase62(24)}`,
  toolCall: () => `call_${randomBase62(24)}`,
  request: (nowMs) => `req_${ulid(nowMs)}`,
  event: (nowMs) => `evt_${ulid(nowMs)}`,
  uuid: () => randomUUID(),
};
