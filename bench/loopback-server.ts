import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Runs a bench child server: listens on a loopback port (0 = any free one), tells the parent which
 * one with a JSON line on stdout, and exits when the parent closes our stdin or sends SIGTERM, so a
 * crashed harness never leaves an upstream behind.
 */
export async function serveForParent(server: Server, port: number): Promise<void> {
  server.keepAliveTimeout = 60_000;
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);
  const stop = () => {
    server.closeAllConnections();
    server.close();
    process.exit(0);
  };
  process.stdin.on('end', stop);
  process.stdin.on('error', stop);
  process.stdin.resume();
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

/** `--name value` from argv, as a positive integer, or the fallback. */
export function integerArgument(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  if (index === -1) return fallback;
  const value = Number(process.argv[index + 1]);
  if (!Number.isInteger(value) || value < 0) throw new Error(`--${name}: expected a non-negative integer`);
  return value;
}
