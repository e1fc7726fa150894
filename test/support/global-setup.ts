import { bundleGateway } from '../../scripts/bundle-gateway.js';

/**
 * Bundles the gateway once (scripts/bundle-gateway.ts, as `npm run build` does) so tests can spawn the
 * real `maniac-gateway` binary. A failed bundle does not stop the other suites; the tests that spawn
 * the binary fail on their own, naming the missing build.
 */
export default async function setup(): Promise<void> {
  try {
    await bundleGateway();
  } catch (error) {
    process.stderr.write(`global setup: bundling failed, spawn tests will fail:\n${String(error)}\n`);
  }
}
