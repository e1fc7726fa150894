import { once } from 'node:events';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TcpProxy } from '../support/tcp-proxy.js';

/** The proxy the outage tests rely on: it must really cut, really stall and really come back. */

let echo: Server;
let proxy: TcpProxy;

beforeAll(async () => {
  echo = createServer((socket) => socket.pipe(socket));
  echo.listen(0, '127.0.0.1');
  await once(echo, 'listening');
  proxy = await TcpProxy.start('127.0.0.1', (echo.address() as AddressInfo).port);
});

afterAll(async () => {
  await proxy.close();
  echo.close();
});

function open(): Promise<Socket> {
  const socket = connect({ host: '127.0.0.1', port: proxy.port });
  socket.on('error', () => {});
  return once(socket, 'connect').then(() => socket);
}

async function roundTrip(socket: Socket, text: string): Promise<string> {
  socket.write(text);
  const [chunk] = await once(socket, 'data');
  return String(chunk);
}

/** Resolves with how the socket ended: 'closed' if it did within `timeoutMs`, else 'open'. */
function outcome(socket: Socket, timeoutMs: number): Promise<'closed' | 'open'> {
  if (socket.destroyed) return Promise.resolve('closed');
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve('open'), timeoutMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve('closed');
    });
  });
}

describe('TcpProxy', () => {
  it('forwards bytes both ways while the link is up', async () => {
    const socket = await open();
    expect(await roundTrip(socket, 'hello')).toBe('hello');
    expect(proxy.activeConnections).toBe(1);
    socket.destroy();
  });

  it('cut() drops live connections and resets new ones; restore() brings the link back', async () => {
    const live = await open();
    expect(await roundTrip(live, 'before')).toBe('before');
    proxy.cut();
    expect(await outcome(live, 2_000)).toBe('closed');
    // Reset right after the handshake: the client sees the connection close (often as ECONNRESET).
    const during = connect({ host: '127.0.0.1', port: proxy.port });
    during.on('error', () => {});
    expect(await outcome(during, 2_000)).toBe('closed');
    expect(proxy.activeConnections).toBe(0);
    proxy.restore();
    const after = await open();
    expect(await roundTrip(after, 'after')).toBe('after');
    after.destroy();
  });

  it("cut('stall') accepts new connections and answers nothing until restore() resets them", async () => {
    proxy.cut('stall');
    const stalled = await open();
    stalled.write('anyone there?');
    const silence = await Promise.race([
      once(stalled, 'data').then(() => 'data'),
      outcome(stalled, 300).then((state) => (state === 'open' ? 'silence' : 'closed')),
    ]);
    expect(silence).toBe('silence');
    proxy.restore();
    expect(await outcome(stalled, 2_000)).toBe('closed');
    const after = await open();
    expect(await roundTrip(after, 'again')).toBe('again');
    after.destroy();
  });
});
