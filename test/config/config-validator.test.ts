import { runInThisContext } from 'node:vm';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { validateConfigFile } from '#src/config/config-validator.js';
import { precompiledConfigValidator } from '../../scripts/bundle-gateway.js';

/** The validator the production bundle carries instead of compiling one at start-up. */
async function loadPrecompiled(): Promise<typeof validateConfigFile> {
  const result = await build({
    stdin: { contents: precompiledConfigValidator(), resolveDir: process.cwd(), loader: 'js' },
    bundle: true,
    format: 'cjs',
    platform: 'node',
    write: false,
    logLevel: 'silent',
  });
  const module = { exports: {} as { validateConfigFile?: typeof validateConfigFile } };
  const evaluate = runInThisContext(`(function (module, exports) {${result.outputFiles[0]?.text}\n})`);
  evaluate(module, module.exports);
  if (!module.exports.validateConfigFile) throw new Error('no validateConfigFile export');
  return module.exports.validateConfigFile;
}

const files: Record<string, unknown>[] = [
  {},
  {
    server: { host: '127.0.0.1', port: 9000 },
    shutdown: { drainTimeoutMs: 1000 },
    rateLimit: { windowSeconds: 60, orgLimit: 1_000_000_000, anonymousLimit: 1_000_000_000 },
    billing: { mode: 'prepaid' },
    telemetry: { logLevel: 'info', storeBodies: true },
    providers: {
      local: {
        type: 'openai-compatible',
        baseUrl: 'http://127.0.0.1:1/v1',
        apiKeyEnv: 'K',
        models: ['echo'],
      },
    },
    models: [
      {
        id: 'local/echo',
        upstream_model: 'echo',
        context_window: 128_000,
        max_output_tokens: 16_384,
        pricing: { input: 1.5e-7, output: 6e-7 },
      },
    ],
  },
  { timeouts: { idleMs: -1 } },
  { unknownSection: {} },
  { server: { port: 'eighty' } },
  { providers: { local: { type: 'not-a-provider' } } },
  { models: [{ upstream_model: 'echo' }] },
  { auth: { internalKey: 'too-short' } },
];

describe('the precompiled config validator (scripts/bundle-gateway.ts)', () => {
  it('accepts, defaults and rejects config files exactly as the one compiled at run time', async () => {
    const precompiled = await loadPrecompiled();
    for (const file of files) {
      const compiledInput = structuredClone(file);
      const precompiledInput = structuredClone(file);
      const isValid = validateConfigFile(compiledInput);
      expect(precompiled(precompiledInput), JSON.stringify(file)).toBe(isValid);
      expect(precompiledInput).toEqual(compiledInput);
      expect(precompiled.errors ?? null).toEqual(validateConfigFile.errors ?? null);
    }
  });
});
