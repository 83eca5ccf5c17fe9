import type { DataSource } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata';
import { AuditEventEntity, type AuditEvent } from './AuditEvent';

interface Pending {
  row: AuditEvent;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** Rows per INSERT at most: well under MySQL's packet and SQLite's parameter limits (7 columns a row). */
const MAX_ROWS_PER_INSERT = 500;

/**
 * Writes audit rows outside any transaction with group commit: one INSERT in flight at a time, and
 * the rows that arrive meanwhile go together in the next multi-row INSERT (one statement, one
 * commit). A lone row goes at once, so nothing waits at low load; under load one commit serves
 * many pushes (BENCHMARKS.md). Each caller's promise settles with the commit of its own row.
 * A multi-row INSERT is one statement, so it stores all its rows or none; when it fails, its rows
 * are tried one by one, so a row the database refuses fails only its own caller.
 */
export class AuditRowWriter {
  private queue: Pending[] = [];
  private draining: Promise<void> | null = null;
  private statementCount = 0;
  /** The table and the columns written (all but the generated id), from typeorm's metadata. */
  private readonly table: string;
  private readonly columns: ColumnMetadata[];

  constructor(private readonly db: DataSource) {
    const metadata = db.getMetadata(AuditEventEntity);
    this.table = db.driver.escape(metadata.tableName);
    this.columns = metadata.columns.filter((c) => !c.isGenerated);
  }

  write(row: AuditEvent): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ row, resolve, reject });
      this.draining ??= this.drain();
    });
  }

  /** INSERT statements issued so far (for tests and the bench). */
  get statements(): number {
    return this.statementCount;
  }

  /** Settles once every row written so far is committed or refused (before closing the database). */
  async idle(): Promise<void> {
    while (this.draining) await this.draining;
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, MAX_ROWS_PER_INSERT);
        try {
          await this.insert(batch.map((p) => p.row));
          for (const p of batch) p.resolve();
        } catch (error) {
          if (batch.length === 1) batch[0]!.reject(error);
          else for (const p of batch) await this.insert([p.row]).then(p.resolve, p.reject);
        }
      }
    } finally {
      this.draining = null;
    }
  }

  /**
   * One parameterised multi-row INSERT, values converted by typeorm's driver (JSON, DATETIME(3)).
   * Not the query builder: its per-parameter bookkeeping grows with the square of a batch's size,
   * and was most of this writer's CPU under load (BENCHMARKS.md).
   */
  private async insert(rows: AuditEvent[]): Promise<void> {
    this.statementCount += 1;
    const { driver } = this.db;
    const names = this.columns.map((c) => driver.escape(c.databaseName)).join(', ');
    const tuple = `(${this.columns.map(() => '?').join(', ')})`;
    const values = rows.flatMap((row) =>
      this.columns.map((c) => driver.preparePersistentValue(c.getEntityValue(row), c) as unknown),
    );
    await this.db.query(`INSERT INTO ${this.table} (${names}) VALUES ${rows.map(() => tuple).join(', ')}`, values);
  }
}
