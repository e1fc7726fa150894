import { describe, expect, it } from 'vitest';
import { fixedWindowAt } from '#src/limits/fixed-window.js';

describe('fixedWindowAt', () => {
  it('aligns windows to the Unix epoch and resets at the window end', () => {
    // 1_700_000_030 s is 50 s into the minute that starts at 1_699_999_980.
    expect(fixedWindowAt(1_700_000_030_000, 60)).toEqual({
      startSeconds: 1_699_999_980,
      resetSeconds: 1_700_000_040,
      retryAfterSeconds: 10,
    });
    expect(fixedWindowAt(1_700_000_030_000, 1)).toEqual({
      startSeconds: 1_700_000_030,
      resetSeconds: 1_700_000_031,
      retryAfterSeconds: 1,
    });
  });

  it('starts a new window exactly on the boundary', () => {
    expect(fixedWindowAt(1_700_000_039_999, 60).startSeconds).toBe(1_699_999_980);
    expect(fixedWindowAt(1_700_000_040_000, 60).startSeconds).toBe(1_700_000_040);
    expect(fixedWindowAt(1_700_000_040_000, 60).retryAfterSeconds).toBe(60);
  });

  it('rounds Retry-After up and never below 1', () => {
    expect(fixedWindowAt(1_700_000_038_200, 60).retryAfterSeconds).toBe(2);
    expect(fixedWindowAt(1_700_000_039_999, 60).retryAfterSeconds).toBe(1);
  });
});
