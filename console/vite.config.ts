import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/** For `vite --config console/vite.config.ts`: API calls go to a running gateway. */
const gatewayUrl = process.env.MANIAC_GATEWAY_URL ?? 'http://127.0.0.1:8080';

/**
 * The web console (docs/console.md): Preact through Vite's own JSX transform (no plugin needed),
 * bundled into dist/console and served by the gateway under /console. Everything is emitted as
 * files of the bundle; nothing is fetched from another origin at run time.
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/console/',
  publicDir: false,
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  server: { proxy: { '/v1': gatewayUrl, '/admin': gatewayUrl } },
  build: {
    outDir: fileURLToPath(new URL('../dist/console', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    assetsInlineLimit: 0,
    sourcemap: false,
    reportCompressedSize: false,
  },
});
