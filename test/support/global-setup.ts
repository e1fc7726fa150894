import { execFileSync } from 'node:child_process';

/**
 * Builds dist/ once so tests can spawn the real `maniac-gateway` binary. A failed build does not stop
 * the other suites; the tests that spawn the binary fail on their own, naming the missing build.
 */
export default function setup(): void {
  try {
    execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], {
      stdio: 'pipe',
    });
  } catch (error) {
    process.stderr.write(
      `global setup: build failed, spawn tests will fail:\n${(error as { stdout?: Buffer }).stdout ?? ''}\n`,
    );
  }
}
