import assert from 'node:assert/strict';
import { AuditEventEntity } from '../../src/audit/AuditEvent';
import { AuditLog } from '../../src/audit/AuditLog';
import { ManualClock } from '../../src/clock/Clock';
import { createLogger } from '../../src/logging/createLogger';
import { createTestApp, resetState, type TestApp } from '../support/testApp';

describe('audit/AuditLog', () => {
  let t: TestApp;
  const clock = new ManualClock(Date.UTC(2025, 10, 30, 2, 15, 0, 123));
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger('info', {
    write: (line: string) => {
      lines.push(JSON.parse(line) as Record<string, unknown>);
    },
  });

  before(async () => {
    t = await createTestApp();
  });
  after(() => t?.close());
  beforeEach(async () => {
    await resetState(t.deps);
    lines.length = 0;
  });

  it('writes one audit_events row with the clock time, and one info log line with the openid masked', async () => {
    const audit = new AuditLog(t.deps.db, clock, logger);
    await audit.record({
      type: 'authenticate_failed',
      accountId: '00000000-0000-4000-8000-000000000001',
      openid: 'oAbCdE1234567890123456789wxyz',
      ip: '203.0.113.9',
      userAgent: 'Mozilla/5.0',
      detail: { reason: 'wrong_password', failedLogins: 2 },
    });

    const rows = await t.deps.db.getRepository(AuditEventEntity).find();
    assert.equal(rows.length, 1);
    assert.deepEqual(
      { ...rows[0], id: undefined },
      {
        id: undefined,
        type: 'authenticate_failed',
        accountId: '00000000-0000-4000-8000-000000000001',
        openid: 'oAbCdE1234567890123456789wxyz',
        ip: '203.0.113.9',
        userAgent: 'Mozilla/5.0',
        detail: { reason: 'wrong_password', failedLogins: 2 },
        createdAt: new Date(clock.now()),
      },
    );

    assert.equal(lines.length, 1);
    const line = lines[0]!;
    assert.equal(line.level, 30);
    assert.deepEqual(line.audit, {
      type: 'authenticate_failed',
      accountId: '00000000-0000-4000-8000-000000000001',
      openid: 'oAbCdE****wxyz',
      ip: '203.0.113.9',
      detail: { reason: 'wrong_password', failedLogins: 2 },
    });
    assert.ok(!JSON.stringify(line).includes('oAbCdE1234567890123456789wxyz'));
  });

  it('stores absent fields as NULL and cuts an over-long user agent to the column', async () => {
    const audit = new AuditLog(t.deps.db, clock, logger);
    await audit.record({ type: 'authenticate_failed', userAgent: 'x'.repeat(2000) });
    const [row] = await t.deps.db.getRepository(AuditEventEntity).find();
    assert.equal(row?.accountId, null);
    assert.equal(row?.openid, null);
    assert.equal(row?.ip, null);
    assert.equal(row?.detail, null);
    assert.equal(row?.userAgent?.length, 512);
  });

  it("writes inside the caller's transaction, so a rollback takes the event with it", async () => {
    const audit = new AuditLog(t.deps.db, clock, logger);
    await assert.rejects(
      t.deps.db.transaction(async (manager) => {
        await audit.record({ type: 'register', accountId: '00000000-0000-4000-8000-000000000002' }, manager);
        throw new Error('registration failed later');
      }),
      /registration failed later/,
    );
    assert.equal(await t.deps.db.getRepository(AuditEventEntity).count(), 0);
  });

  it('writes rows recorded at the same time together, each caller resolving once its row is stored', async () => {
    const audit = new AuditLog(t.deps.db, clock, logger);
    const accountIds = Array.from({ length: 100 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
    await Promise.all(
      accountIds.map(async (accountId) => {
        await audit.record({ type: 'login_scanned', accountId });
        assert.equal(await t.deps.db.getRepository(AuditEventEntity).countBy({ accountId }), 1);
      }),
    );
    assert.equal(await t.deps.db.getRepository(AuditEventEntity).count(), 100);
    // The first row goes alone; the rest queue behind it and share INSERTs.
    assert.ok(audit.statements >= 2 && audit.statements < 20, `${audit.statements} INSERTs for 100 rows`);
  });

  it('fails only the caller whose row the database refuses, and stores the rows written beside it', async () => {
    const audit = new AuditLog(t.deps.db, clock, logger);
    const first = audit.record({ type: 'login_scanned', accountId: 'first' });
    // Queued behind the first INSERT, so these three share one; the middle one is too long for its column.
    const results = await Promise.allSettled([
      audit.record({ type: 'login_scanned', accountId: 'before' }),
      audit.record({ type: 'login_scanned', accountId: 'x'.repeat(100) }),
      audit.record({ type: 'login_scanned', accountId: 'after' }),
    ]);
    await first;
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
    const stored = (await t.deps.db.getRepository(AuditEventEntity).find()).map((row) => row.accountId).sort();
    assert.deepEqual(stored, ['after', 'before', 'first']);
  });

  it('settles idle() only after every accepted row is committed', async () => {
    const audit = new AuditLog(t.deps.db, clock, logger);
    const written = Array.from({ length: 20 }, (_, i) => audit.record({ type: 'subscribe', accountId: `idle-${i}` }));
    await audit.idle();
    assert.equal(await t.deps.db.getRepository(AuditEventEntity).count(), 20);
    await Promise.all(written);
  });
});
