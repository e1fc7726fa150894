import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ChatCompletionRequest } from '#src/api/wire/chat.js';
import type { ProviderConfig } from '#src/config/config.js';
import { GatewayError } from '#src/errors/gateway-error.js';
import { anthropicProvider } from '#src/providers/anthropic/index.js';
import { mapAnthropicStopReason } from '#src/providers/anthropic/stop-reason.js';
import type { TranslationContext, UpstreamTarget } from '#src/providers/provider.js';
import type { CatalogModel } from '#src/routing/model-catalog.js';

const provider: ProviderConfig = {
  name: 'anthropic',
  type: 'anthropic',
  baseUrl: 'https://api.anthropic.com',
  apiKey: 'sk-ant-provider-secret',
  isKeyless: false,
  models: [],
  discover: false,
  discoverIntervalMs: 600_000,
  timeouts: {},
};

const model: CatalogModel = {
  id: 'anthropic/claude-sonnet-4-5',
  created: 0,
  ownedBy: 'anthropic',
  slug: 'claude-sonnet-4-5',
  displayName: 'Claude Sonnet 4.5',
  provider: 'anthropic',
  contextWindow: 200_000,
  maxOutputTokens: 64_000,
  pricing: { input: null, output: null, cache_read: null, cache_write: null, request: null, image: null },
  inputModalities: ['text', 'image', 'file'],
  outputModalities: ['text'],
  supportedParameters: undefined,
  supportedApis: ['chat', 'responses'],
  upstreamModel: 'claude-sonnet-4-5',
  aliases: [],
  enabled: true,
  timeouts: {},
};
const target: UpstreamTarget = { provider, model };

function fixture(name: string): { status?: number; headers?: Record<string, string>; body: unknown } {
  const url = new URL(`../../../src/providers/anthropic/__fixtures__/${name}.json`, import.meta.url);
  return JSON.parse(readFileSync(url, 'utf8'));
}

function contextFor(request: Partial<ChatCompletionRequest> = {}): TranslationContext {
  return {
    request: {
      model: 'anthropic/claude-sonnet-4-5',
      messages: [{ role: 'user', content: 'hi' }],
      ...request,
    },
    target,
  };
}

function parse(name: string, request: Partial<ChatCompletionRequest> = {}) {
  return anthropicProvider.parseResponse(fixture(name).body, contextFor(request));
}

describe('anthropic parseResponse', () => {
  it('reads text, the upstream id and usage', () => {
    expect(parse('text')).toEqual({
      upstreamId: 'msg_01XFDUDYJgAACzvnptvVoYEL',
      message: { role: 'assistant', content: 'Hello! How can I help you today?', refusal: null },
      finishReason: 'stop',
      logprobs: null,
      usage: {
        prompt_tokens: 12,
        completion_tokens: 12,
        total_tokens: 24,
        prompt_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 },
      },
    });
  });

  it('turns tool_use blocks into tool calls that keep the toolu_ ids', () => {
    const completion = parse('tool-use');
    expect(completion.finishReason).toBe('tool_calls');
    expect(completion.message.content).toBe("I'll check the weather in both cities.");
    expect(completion.message.tool_calls).toEqual([
      {
        id: 'toolu_01A09q90qw90lq917835lq9',
        type: 'function',
        function: { name: 'get_weather', arguments: '{"location":"San Francisco, CA","unit":"celsius"}' },
      },
      {
        id: 'toolu_01BZ8sLf4kdNkAqz7Ynf8YpQ',
        type: 'function',
        function: { name: 'get_weather', arguments: '{"location":"Paris, France","unit":"celsius"}' },
      },
    ]);
  });

  it('returns thinking as reasoning plus signed reasoning_details', () => {
    const { message } = parse('thinking');
    const { thinking, signature } = (
      fixture('thinking').body as { content: { thinking: string; signature: string }[] }
    ).content[0] as { thinking: string; signature: string };
    expect(message).toEqual({
      role: 'assistant',
      content: '27 × 453 = 12,231',
      refusal: null,
      reasoning: thinking,
      reasoning_details: [{ type: 'reasoning.text', text: thinking, signature }],
    });
  });

  it('returns redacted thinking as reasoning.encrypted in order', () => {
    const details = parse('redacted-thinking').message.reasoning_details;
    expect(details?.map((detail) => detail.type)).toEqual(['reasoning.text', 'reasoning.encrypted']);
    expect(details?.[1]).toEqual({ type: 'reasoning.encrypted', data: expect.stringMatching(/^EmwKAhgB/) });
  });

  it('counts cache reads and writes into prompt_tokens and reports them apart', () => {
    expect(parse('cached-usage').usage).toEqual({
      prompt_tokens: 21 + 2048 + 188,
      completion_tokens: 10,
      total_tokens: 21 + 2048 + 188 + 10,
      prompt_tokens_details: { cached_tokens: 2048, cache_write_tokens: 188 },
    });
  });

  it('returns the synthetic json_response tool input as content with finish_reason stop', () => {
    const completion = parse('json-response', { response_format: { type: 'json_object' } });
    expect(completion.finishReason).toBe('stop');
    expect(completion.message.tool_calls).toBeUndefined();
    expect(JSON.parse(completion.message.content ?? '')).toEqual({ city: 'Paris', population: 2102650 });
    expect(parse('json-response').message.tool_calls?.[0]?.function.name).toBe('json_response');
  });

  it('maps a refusal to content_filter', () => {
    expect(parse('refusal').finishReason).toBe('content_filter');
  });

  it('rejects a body that is not a message as upstream_invalid_response, which may fall back', () => {
    for (const body of [null, 'text', { type: 'message' }]) {
      expect(() => anthropicProvider.parseResponse(body, contextFor())).toThrow(GatewayError);
      try {
        anthropicProvider.parseResponse(body, contextFor());
      } catch (error) {
        expect((error as GatewayError).code).toBe('upstream_invalid_response');
        expect((error as GatewayError).shouldFallBack).toBe(true);
      }
    }
  });
});

describe('mapAnthropicStopReason', () => {
  it.each([
    ['end_turn', 'stop'],
    ['stop_sequence', 'stop'],
    ['pause_turn', 'stop'],
    ['max_tokens', 'length'],
    ['model_context_window_exceeded', 'length'],
    ['tool_use', 'tool_calls'],
    ['refusal', 'content_filter'],
  ])('%s → %s', (stopReason, finishReason) => {
    expect(mapAnthropicStopReason(stopReason, { isJsonResponse: false, hasToolCalls: false })).toBe(
      finishReason,
    );
  });

  it('reads tool_use as stop for the synthetic JSON tool, and an unknown reason from what was produced', () => {
    expect(mapAnthropicStopReason('tool_use', { isJsonResponse: true, hasToolCalls: false })).toBe('stop');
    expect(mapAnthropicStopReason('something_new', { isJsonResponse: false, hasToolCalls: true })).toBe(
      'tool_calls',
    );
    expect(mapAnthropicStopReason(null, { isJsonResponse: false, hasToolCalls: false })).toBe('stop');
  });
});

describe('anthropic parseError', () => {
  function error(name: string): GatewayError {
    const { status, headers, body } = fixture(name);
    return anthropicProvider.parseError({
      status: status ?? 500,
      headers: headers ?? {},
      body: JSON.stringify(body),
      providerName: 'anthropic',
    });
  }

  it('keeps the vendor message of a 400 and does not fall back', () => {
    const mapped = error('error-400');
    expect(mapped.toEnvelope()).toEqual({
      error: {
        message:
          'anthropic rejected the request: max_tokens: 100000 > 64000, which is the maximum allowed number of output tokens for claude-sonnet-4-5-20250929',
        type: 'invalid_request_error',
        param: null,
        code: 'upstream_bad_request',
      },
    });
    expect(mapped.shouldFallBack).toBe(false);
  });

  it.each([
    ['error-401', 502, 'api_error', 'upstream_auth_failed'],
    ['error-429', 429, 'rate_limit_error', 'upstream_rate_limited'],
    ['error-500', 502, 'api_error', 'upstream_error'],
    ['error-529', 503, 'overloaded_error', 'upstream_overloaded'],
  ])('%s → %i %s %s, which may fall back', (name, status, type, code) => {
    const mapped = error(name);
    expect([mapped.status, mapped.type, mapped.wireCode, mapped.shouldFallBack]).toEqual([
      status,
      type,
      code,
      true,
    ]);
  });

  it('forwards Retry-After of a 429 and reads an overloaded_error body under another status', () => {
    expect(error('error-429').retryAfterSeconds).toBe(17);
    const overloaded = anthropicProvider.parseError({
      status: 500,
      headers: {},
      body: '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}',
      providerName: 'anthropic',
    });
    expect(overloaded.code).toBe('upstream_overloaded');
    const html = anthropicProvider.parseError({
      status: 502,
      headers: {},
      body: '<html>bad gateway</html>',
      providerName: 'anthropic',
    });
    expect(html.code).toBe('upstream_error');
  });
});
