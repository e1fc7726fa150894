/**
 * Bundles the gateway into dist/bundle/ for `bin/maniac-gateway.js`. Start-up spent most of its time
 * resolving and compiling about a thousand module files and compiling the config schema
 * (docs/decisions/0012-bundled-build.md).
 *
 * Usage: npx tsx scripts/bundle-gateway.ts (part of `npm run build`; the tests' global setup runs it too)
 */
import { rmSync } from 'node:fs';
import { join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import standalone from 'ajv/dist/standalone/index.js';
import { build, type Plugin } from 'esbuild';
import { configSchema } from '../src/config/config-schema.js';
import { configValidatorOptions } from '../src/config/config-validator.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const srcDir = join(repoRoot, 'src', sep);

/**
 * The output sits two levels below the package root, like every module tsc emits: code that finds
 * files with `new URL('../../catalog/…', import.meta.url)` resolves the same from either.
 */
export const bundleDir = 'dist/bundle';

/**
 * src/config/config-validator.ts with the validator Ajv generates for it, as an ES module: the same
 * code Ajv would compile at start-up, with the same options.
 */
export function precompiledConfigValidator(): string {
  const ajv = new Ajv({ ...configValidatorOptions, code: { source: true, esm: true } });
  // A CommonJS module: its function is both `module.exports` and `.default`; the types know the latter.
  const code = standalone.default(ajv, ajv.compile(configSchema));
  return `${code}\nexport { validate as validateConfigFile };\n`;
}

const precompileConfigValidator: Plugin = {
  name: 'precompile-config-validator',
  setup(build) {
    build.onLoad({ filter: /[\\/]src[\\/]config[\\/]config-validator\.ts$/ }, (args) => ({
      contents: precompiledConfigValidator(),
      loader: 'js',
      // Ajv's runtime helpers (`require("ajv/dist/runtime/…")`) resolve from the package root.
      resolveDir: repoRoot,
      watchFiles: [args.path],
    }));
  },
};

/**
 * A package as src/ imports it, replaced by a module that loads only the parts src/ uses. Importing
 * any other name from the package in src/ fails the build ("No matching export").
 */
function onlyParts(name: string, pkg: string, lines: readonly string[]): Plugin {
  const filter = new RegExp(`^${pkg.replace(/[-/\\^$*+?.()|[\]{}]/g, '\\$&')}$`);
  return {
    name,
    setup(build) {
      build.onResolve({ filter }, (args) =>
        args.importer.startsWith(srcDir) ? { path: pkg, namespace: name } : undefined,
      );
      build.onLoad({ filter: /.*/, namespace: name }, () => ({
        contents: lines.join('\n'),
        loader: 'js',
        resolveDir: repoRoot,
      }));
    },
  };
}

/**
 * `undici`: a `Pool` with the request API. undici's index also loads fetch, WebSocket,
 * EventSource, the caches and the mocks, which cost about 10 % of start-up.
 */
const undiciPoolOnly = onlyParts('undici-pool-only', 'undici', [
  "import Dispatcher from 'undici/lib/dispatcher/dispatcher.js';",
  "import api from 'undici/lib/api/index.js';",
  "import Pool from 'undici/lib/dispatcher/pool.js';",
  // As undici's index.js does: `request`, `stream`, … on every dispatcher.
  'Object.assign(Dispatcher.prototype, api);',
  'export { Pool };',
]);

/**
 * `prom-client`: the registry and three metric types. Its index also loads the default process
 * metrics (with `@opentelemetry/api`), the summary, the push gateway and the cluster aggregator:
 * about 200 KB the gateway never runs, parsed at every start.
 */
const promClientCore = onlyParts('prom-client-core', 'prom-client', [
  "import Registry from 'prom-client/lib/registry.js';",
  "import Counter from 'prom-client/lib/counter.js';",
  "import Gauge from 'prom-client/lib/gauge.js';",
  "import Histogram from 'prom-client/lib/histogram.js';",
  'export { Counter, Gauge, Histogram, Registry };',
]);

export async function bundleGateway(): Promise<void> {
  rmSync(new URL(`../${bundleDir}`, import.meta.url), { recursive: true, force: true });
  await build({
    absWorkingDir: repoRoot,
    entryPoints: {
      'maniac-gateway': 'src/main.ts',
      // The SQLite writer thread's module, found beside the chunks at run time (src/store/sqlite-writer.ts).
      'sqlite-writer-thread': 'src/store/sqlite-writer-thread.ts',
    },
    outdir: bundleDir,
    bundle: true,
    // Modules behind `await import()` (the tokenizer, CLI commands, each store dialect) become chunks
    // that load only when used.
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20.18',
    // better-sqlite3 is a native addon, found at run time through its package. pg and ioredis load
    // only for a PostgreSQL or Redis URL; from their packages, their code runs as published (ioredis
    // reads its own package.json through `__dirname`, which a bundle does not have).
    // light-my-request is Fastify's `inject()`, which only tests call; Fastify requires it on first
    // use. Fastify's schema compilers are never required: no route declares a schema, and
    // src/http/server.ts gives Fastify compilers of its own. Left in, they would pull Ajv into the
    // start-up bundle, which src/api/request-validation.ts loads only after start.
    external: [
      'better-sqlite3',
      'pg',
      'ioredis',
      'light-my-request',
      '@fastify/ajv-compiler',
      '@fastify/fast-json-stringify-compiler',
    ],
    plugins: [precompileConfigValidator, undiciPoolOnly, promClientCore],
    // The CommonJS dependencies call `require` for Node's built-ins; an ES module has none.
    banner: {
      js: "import { createRequire } from 'node:module';\nconst require = createRequire(import.meta.url);",
    },
    // Less to parse at start-up; identifiers are kept so that stack traces stay readable.
    minifyWhitespace: true,
    minifySyntax: true,
    sourcemap: 'linked',
    // Licence comments go to a .LEGAL.txt beside each file. One non-ASCII letter in them made Node
    // decode the whole bundle as a two-byte string: 30 ms more at every start.
    legalComments: 'external',
    logLevel: 'warning',
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await bundleGateway();
