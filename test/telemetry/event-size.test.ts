import { describe, expect, it } from 'vitest';
import { approximateBytes, approximateEventBytes } from '#src/telemetry/event-size.js';
import { makeEvent } from './fakes.js';

describe('approximateBytes', () => {
  it('counts strings by length and other values by 8, through nested objects and arrays', () => {
    expect(approximateBytes('hello')).toBe(5);
    expect(approximateBytes(42)).toBe(8);
    expect(approximateBytes(null)).toBe(8);
    // object 8 + key "a" 1 + "xy" 2 + key "b" 1 + array 8 + 8 + 8
    expect(approximateBytes({ a: 'xy', b: [1, true] })).toBe(36);
  });

  it('grows with the prompt of an event, not with its fixed fields', () => {
    const small = approximateEventBytes(makeEvent(1));
    const large = approximateEventBytes(
      makeEvent(1, { request_body: { messages: [{ role: 'user', content: 'x'.repeat(100_000) }] } }),
    );
    expect(small).toBeLessThan(5_000);
    expect(large - small).toBeGreaterThan(99_000);
    expect(large - small).toBeLessThan(101_000);
  });
});
