/**
 * Fault scenarios, named by the upstream model. Each breaks the exchange at a different point:
 * before the headers, in the body, or in the framing.
 */
export const faultScenarios = [
  'stall',
  'reset-before-headers',
  'slow-first-byte',
  'stall-mid-stream',
  'reset-mid-stream',
  'malformed-json',
  'malformed-sse',
  'wrong-content-type',
  'oversized',
  'slow-stream',
  'controlled',
] as const;

export type FaultScenario = (typeof faultScenarios)[number];

export function isFaultScenario(name: string): name is FaultScenario {
  return (faultScenarios as readonly string[]).includes(name);
}
