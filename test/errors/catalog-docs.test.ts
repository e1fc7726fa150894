import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { catalog } from '#src/errors/catalog.js';
import { GatewayError } from '#src/errors/gateway-error.js';
import { renderErrorDocs } from '../../scripts/generate-error-docs.js';

describe('error catalog', () => {
  it('agrees with docs/errors.md (regenerate with: npx tsx scripts/generate-error-docs.ts)', () => {
    expect(readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8')).toBe(renderErrorDocs());
  });

  it('uses only the statuses and types of SPEC §9.1, type following status', () => {
    const typeOf: Record<number, string> = {
      400: 'invalid_request_error',
      401: 'authentication_error',
      402: 'invalid_request_error',
      403: 'permission_error',
      404: 'not_found_error',
      429: 'rate_limit_error',
      500: 'api_error',
      502: 'api_error',
      503: 'api_error',
    };
    for (const [code, entry] of Object.entries(catalog)) {
      const expected = code === 'upstream_overloaded' ? 'overloaded_error' : typeOf[entry.status];
      expect(entry.type, code).toBe(expected);
    }
  });

  it('fills placeholders and renders the four-key envelope', () => {
    const error = new GatewayError('model_not_found', { model: 'x/y' }, { param: 'model' });
    expect(error.toEnvelope()).toEqual({
      error: {
        message: "No model found with id 'x/y'.",
        type: 'not_found_error',
        param: 'model',
        code: 'model_not_found',
      },
    });
    expect(new GatewayError('container_path_not_found', { id: 'bot' }).toEnvelope().error.code).toBe(
      'container_not_found',
    );
  });
});
