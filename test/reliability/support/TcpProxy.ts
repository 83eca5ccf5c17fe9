import { connect, createServer, type Server, type Socket } from 'node:net';
import { freePort } from './processes';

/**
 * A loopback TCP relay in front of the shared MariaDB, so a test can take "MySQL" away from the
 * app under test — and only from it — and give it back: `cut()` drops every relayed connection and
 * refuses new ones (what the app sees when the server goes down), `restore()` listens again on the
 * same port. The upstream side's local ports identify the app's connections in MariaDB's
 * PROCESSLIST, for `KILL CONNECTION`.
 */
export class TcpProxy {
  private server: Server | null = null;
  private readonly pairs = new Set<{ client: Socket; upstream: Socket }>();

  private constructor(
    readonly port: number,
    private readonly targetPort: number,
    private readonly targetHost: string,
  ) {}

  static async start(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
    const proxy = new TcpProxy(await freePort(), targetPort, targetHost);
    await proxy.restore();
    return proxy;
  }

  /** The local ports of the relay's live connections to the target (the app's connections, as MariaDB sees them). */
  upstreamPorts(): number[] {
    return [...this.pairs].map((pair) => pair.upstream.localPort).filter((port): port is number => port !== undefined);
  }

  get connections(): number {
    return this.pairs.size;
  }

  /** Drops every connection and refuses new ones until `restore()`. */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const pair of this.pairs) {
      pair.client.destroy();
      pair.upstream.destroy();
    }
    this.pairs.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  async restore(): Promise<void> {
    if (this.server) return;
    const server = createServer((client) => this.relay(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
  }

  close(): Promise<void> {
    return this.cut();
  }

  private relay(client: Socket): void {
    const upstream = connect({ port: this.targetPort, host: this.targetHost });
    const pair = { client, upstream };
    this.pairs.add(pair);
    const drop = () => {
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  }
}
