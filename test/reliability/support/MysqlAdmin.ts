import { createConnection, type Connection, type RowDataPacket } from 'mysql2/promise';
import { testRun } from '../../support/testEnv';
import { waitUntil } from './processes';

interface ProcessRow extends RowDataPacket {
  ID: number;
  HOST: string;
  DB: string | null;
  INFO: string | null;
}

/**
 * A connection of the test's own to the shared MariaDB (this run's database), used to hold locks
 * the app must wait for and to `KILL CONNECTION` the app's connections. It never changes global
 * settings and never touches another run's connections: it kills only connections it can name
 * (by the relay's ports, or by the statement they are blocked in, in this run's database).
 */
export class MysqlAdmin {
  private constructor(
    readonly connection: Connection,
    private readonly ownId: number,
  ) {}

  static async connect(): Promise<MysqlAdmin> {
    const connection = await createConnection({ uri: testRun.databaseUrl, connectTimeout: 3000 });
    const [rows] = await connection.query<RowDataPacket[]>('SELECT CONNECTION_ID() AS id');
    return new MysqlAdmin(connection, Number(rows[0]!.id));
  }

  /** Kills the connections that come from these local ports (see TcpProxy.upstreamPorts); returns how many. */
  async killFromPorts(ports: number[]): Promise<number> {
    const wanted = new Set(ports.map(String));
    const rows = await this.processes();
    const victims = rows.filter((row) => row.ID !== this.ownId && wanted.has(row.HOST.split(':').at(-1) ?? ''));
    for (const row of victims) await this.kill(row.ID);
    return victims.length;
  }

  /**
   * Waits until a connection other than this one runs a statement in this run's database matching
   * `pattern` (an app connection blocked on a lock this admin holds) and returns its id.
   */
  async waitForStatement(pattern: RegExp, withinMs = 10_000): Promise<number> {
    let found: number | undefined;
    await waitUntil(
      `a connection running ${pattern}`,
      async () => {
        const rows = await this.processes();
        found = rows.find(
          (row) => row.ID !== this.ownId && row.DB === testRun.databaseName && pattern.test(row.INFO ?? ''),
        )?.ID;
        return found !== undefined;
      },
      withinMs,
    );
    return found!;
  }

  async kill(id: number): Promise<void> {
    await this.connection.query(`KILL CONNECTION ${Number(id)}`);
  }

  async close(): Promise<void> {
    await this.connection.end();
  }

  private async processes(): Promise<ProcessRow[]> {
    const [rows] = await this.connection.query<ProcessRow[]>(
      'SELECT ID, HOST, DB, INFO FROM information_schema.PROCESSLIST',
    );
    return rows;
  }
}

/** This run's database behind a relay port: what the app under test gets as DATABASE_URL. */
export function databaseUrlThrough(port: number): string {
  const url = new URL(testRun.databaseUrl);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return url.toString();
}

/** The shared MariaDB's port, where the relay forwards to. */
export function mysqlPort(): number {
  return Number(new URL(testRun.serverUrl).port || 3306);
}
