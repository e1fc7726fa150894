import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '#src/telemetry/logger.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { lines, logger: createLogger('info', destination) };
}

describe('createLogger', () => {
  it('censors secret keys at the top and nested in plain objects, leaving the caller’s object alone', async () => {
    const { lines, logger } = capture();
    const input = {
      authorization: 'Bearer mk_live_secret1',
      request: { headers: { authorization: 'Bearer mk_live_secret2', 'x-api-key': 'sk-secret3' } },
      provider: { apiKey: 'sk-secret4', name: 'openai' },
      key: 'mk_live_secret5',
      adminToken: 'secret6',
      key_id: 'key_abc',
      status: 200,
    };
    logger.info(input, 'request');
    logger.flush();
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 'info',
      msg: 'request',
      authorization: '[redacted]',
      request: { headers: { authorization: '[redacted]', 'x-api-key': '[redacted]' } },
      provider: { apiKey: '[redacted]', name: 'openai' },
      key: '[redacted]',
      adminToken: '[redacted]',
      key_id: 'key_abc',
      status: 200,
    });
    expect(JSON.stringify(lines)).not.toMatch(/secret/);
    expect(input.request.headers.authorization).toBe('Bearer mk_live_secret2');
  });

  it('writes lines without secrets unchanged', async () => {
    const { lines, logger } = capture();
    logger.warn({ request_id: 'req_1', latency_ms: 3, outcome: 'success' }, 'request');
    logger.flush();
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines[0]).toMatchObject({ level: 'warn', request_id: 'req_1', latency_ms: 3, outcome: 'success' });
  });
});
