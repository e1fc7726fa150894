import type { Usage } from '../api/wire/chat.js';
import type { Pricing } from '../config/catalog-model.js';

/** Money is held as integer micro-dollars; prices per token are fractions of a micro-dollar. */
export const microsPerUsd = 1_000_000;

export function formatUsd(micros: number): string {
  return `$${(micros / microsPerUsd).toFixed(4)}`;
}

/**
 * Worst-case cost of one candidate (SPEC §8.1): prompt × input + output cap × output + request +
 * images × image, unknown prices as 0, no cache discount. Rounded up to a whole micro-dollar.
 */
export function estimateMicros(
  pricing: Pricing,
  promptTokens: number,
  outputTokens: number,
  images: number,
): number {
  const usd =
    promptTokens * (pricing.input ?? 0) +
    outputTokens * (pricing.output ?? 0) +
    (pricing.request ?? 0) +
    images * (pricing.image ?? 0);
  return Math.ceil(usd * microsPerUsd - 1e-9);
}

export interface ActualCost {
  micros: number;
  /** `null` when a price the usage needed is unknown (SPEC §10 `cost_usd`). */
  usd: number | null;
}

/**
 * Settled cost (SPEC §8.2): uncached prompt at the input price, cache reads and writes at their own
 * prices (falling back to input), completion at the output price, plus per-request and per-image.
 */
export function actualCost(pricing: Pricing, usage: Usage, images: number): ActualCost {
  const cached = usage.prompt_tokens_details?.cached_tokens ?? 0;
  const cacheWrite = usage.prompt_tokens_details?.cache_write_tokens ?? 0;
  const uncached = Math.max(0, usage.prompt_tokens - cached - cacheWrite);
  const parts: [number, number | null][] = [
    [uncached, pricing.input],
    [cached, pricing.cache_read ?? pricing.input],
    [cacheWrite, pricing.cache_write ?? pricing.input],
    [usage.completion_tokens, pricing.output],
    // An unknown per-request price is no per-request fee, not an unknown cost.
    [pricing.request === null ? 0 : 1, pricing.request],
    [images, pricing.image],
  ];
  let usd = 0;
  let isKnown = true;
  for (const [count, price] of parts) {
    if (count === 0) continue;
    if (price === null) isKnown = false;
    else usd += count * price;
  }
  const micros = Math.ceil(usd * microsPerUsd - 1e-9);
  return { micros, usd: isKnown ? micros / microsPerUsd : null };
}
