import { once } from 'node:events';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';

/** What a cut does to connections opened while it lasts. */
export type CutMode =
  /** Accepted and reset at once: the client sees ECONNRESET, as from a host that is down. */
  | 'refuse'
  /** Accepted and never answered (a black hole) until `restore()`, which then resets them. */
  | 'stall';

/**
 * A loopback TCP proxy the tests put between the gateway and PostgreSQL or Redis, to cut the link
 * and restore it at a moment they choose. The listening port stays the same throughout, so the
 * gateway's configured URL never changes.
 */
export class TcpProxy {
  readonly port: number;
  private readonly server: Server;
  private readonly pairs = new Set<{ client: Socket; target: Socket }>();
  private readonly stalled = new Set<Socket>();
  private mode: CutMode | undefined;
  /** Connections accepted while the link was up, since start. */
  forwardedConnections = 0;
  /** Connections turned away (reset or stalled) while the link was cut, since start. */
  refusedConnections = 0;

  private constructor(server: Server, port: number) {
    this.server = server;
    this.port = port;
  }

  static async start(targetHost: string, targetPort: number): Promise<TcpProxy> {
    let proxy: TcpProxy | undefined;
    const server = createServer({ noDelay: true }, (client) => proxy?.accept(client, targetHost, targetPort));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    proxy = new TcpProxy(server, (server.address() as AddressInfo).port);
    return proxy;
  }

  /** Live connections forwarded to the target. */
  get activeConnections(): number {
    return this.pairs.size;
  }

  get isCut(): boolean {
    return this.mode !== undefined;
  }

  /** Destroys every live connection; until `restore()`, new ones are refused or stalled. */
  cut(mode: CutMode = 'refuse'): void {
    this.mode = mode;
    for (const pair of this.pairs) {
      pair.client.resetAndDestroy();
      pair.target.destroy();
    }
    this.pairs.clear();
  }

  /** Forwards new connections again; connections stalled by the cut are reset. */
  restore(): void {
    this.mode = undefined;
    for (const socket of this.stalled) socket.resetAndDestroy();
    this.stalled.clear();
  }

  async close(): Promise<void> {
    this.cut('refuse');
    this.restore();
    this.server.close();
    await once(this.server, 'close');
  }

  private accept(client: Socket, targetHost: string, targetPort: number): void {
    client.on('error', () => {});
    if (this.mode === 'refuse') {
      this.refusedConnections++;
      client.resetAndDestroy();
      return;
    }
    if (this.mode === 'stall') {
      this.refusedConnections++;
      client.pause();
      this.stalled.add(client);
      client.once('close', () => this.stalled.delete(client));
      return;
    }
    this.forwardedConnections++;
    const target = connect({ host: targetHost, port: targetPort, noDelay: true });
    const pair = { client, target };
    this.pairs.add(pair);
    target.on('error', () => client.destroy());
    client.on('error', () => target.destroy());
    client.once('close', () => {
      this.pairs.delete(pair);
      target.destroy();
    });
    target.once('close', () => {
      this.pairs.delete(pair);
      client.destroy();
    });
    client.pipe(target);
    target.pipe(client);
  }
}
