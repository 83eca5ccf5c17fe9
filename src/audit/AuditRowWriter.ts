import type { DataSource, QueryDeepPartialEntity } from 'typeorm';
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
 * many pushes (BENCHMARKS.md, P1). Each caller's promise settles with the commit of its own row.
 * A multi-row INSERT is one statement, so it stores all its rows or none; when it fails, its rows
 * are tried one by one, so a row the database refuses fails only its own caller.
 */
export class AuditRowWriter {
  private queue: Pending[] = [];
  private draining: Promise<void> | null = null;
  private statementCount = 0;

  constructor(private readonly db: DataSource) {}

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

  private async insert(rows: AuditEvent[]): Promise<void> {
    this.statementCount += 1;
    // typeorm's deep-partial type cannot see into `Record<string, unknown>`; each row is a whole AuditEvent.
    await this.db.createQueryBuilder().insert().into(AuditEventEntity)
      .values(rows as QueryDeepPartialEntity<AuditEvent>[])
      .updateEntity(false)
      .execute();
  }
}
