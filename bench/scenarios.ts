import type { RequestSpec } from './load.js';

/** Request bodies and sizes of each mode. The gateway and the bare upstream get the same headers and bytes. */

export interface Settings {
  /** Closed-loop runs last this long (full) or send this many requests (smoke). */
  throughput: { seconds: number } | { amount: number };
  warmup: { seconds: number } | { amount: number };
  connections: number;
  pacedRate: number;
  pacedSeconds: number;
  pacedConnections: number;
  /** A paced run of this length, not counted, precedes each measured one. */
  pacedWarmupSeconds: number;
  bigPromptKb: number;
  bigThroughput: { seconds: number } | { amount: number };
  bigPacedRate: number;
  bigPacedSeconds: number;
  streams: number;
  streamChunks: number;
  streamIntervalMs: number;
  streamRampMs: number;
  startupSamples: number;
  /** The whole run stops with an error past this. */
  runDeadlineMs: number;
}

export const fullSettings: Settings = {
  throughput: { seconds: 10 },
  warmup: { seconds: 3 },
  connections: 64,
  pacedRate: 500,
  pacedSeconds: 10,
  pacedConnections: 32,
  pacedWarmupSeconds: 1,
  bigPromptKb: 100,
  bigThroughput: { seconds: 6 },
  bigPacedRate: 100,
  bigPacedSeconds: 6,
  streams: 200,
  streamChunks: 50,
  streamIntervalMs: 20,
  streamRampMs: 500,
  startupSamples: 3,
  runDeadlineMs: 8 * 60_000,
};

export const smokeSettings: Settings = {
  throughput: { amount: 300 },
  warmup: { amount: 100 },
  connections: 16,
  pacedRate: 200,
  pacedSeconds: 1,
  pacedConnections: 8,
  pacedWarmupSeconds: 0.2,
  bigPromptKb: 100,
  bigThroughput: { amount: 40 },
  bigPacedRate: 20,
  bigPacedSeconds: 1,
  streams: 20,
  streamChunks: 50,
  streamIntervalMs: 2,
  streamRampMs: 50,
  startupSamples: 1,
  runDeadlineMs: 2 * 60_000,
};

export interface Scenario {
  plain: RequestSpec;
  big: RequestSpec;
  stream: { url: string; headers: Record<string, string>; body: Buffer };
}

const shortPrompt = 'Say hello in one short sentence.';

function bigPrompt(kilobytes: number): string {
  const words = ['gateway', 'latency', 'stream', 'token', 'upstream', 'budget', 'request', 'cache'];
  const parts: string[] = [];
  let length = 0;
  for (let index = 0; length < kilobytes * 1024; index++) {
    const word = `${words[index % words.length]}${index % 97} `;
    parts.push(word);
    length += word.length;
  }
  return parts.join('').slice(0, kilobytes * 1024);
}

function chatBody(model: string, content: string, isStream: boolean): Buffer {
  const body: Record<string, unknown> = { model, messages: [{ role: 'user', content }], max_tokens: 64 };
  if (isStream) body.stream = true;
  return Buffer.from(JSON.stringify(body));
}

/** One target's requests; through the gateway the models are `bare/echo` and `stream/echo`, direct `echo`. */
export function scenarioFor(
  plainOrigin: string,
  streamOrigin: string,
  viaGateway: boolean,
  bearer: string,
  settings: Settings,
): Scenario {
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${bearer}` };
  const path = '/v1/chat/completions';
  const plainModel = viaGateway ? 'bare/echo' : 'echo';
  const streamModel = viaGateway ? 'stream/echo' : 'echo';
  return {
    plain: { urls: [`${plainOrigin}${path}`], headers, body: chatBody(plainModel, shortPrompt, false) },
    big: {
      urls: [`${plainOrigin}${path}`],
      headers,
      body: chatBody(plainModel, bigPrompt(settings.bigPromptKb), false),
    },
    stream: { url: `${streamOrigin}${path}`, headers, body: chatBody(streamModel, shortPrompt, true) },
  };
}
