import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { isDeadlock, openDatabase, retryOnDeadlock, type Database } from '../../store/index.js';
import { uniqueSuffix } from '../support/engine.js';

/**
 * Real deadlocks on PostgreSQL (the embedded database has one connection and cannot have any):
 * two transactions take two rows in opposite orders. PostgreSQL aborts the one whose deadlock
 * check runs first: each waiting backend checks once its own `deadlock_timeout` has passed. The
 * other side waits 10 s before it checks, so the retried side (1 s) is the one aborted, which
 * `retryOnDeadlock` runs again, through `pg` and through Prisma alike. (With both at 1 s the
 * first waiter was usually aborted, but on a loaded machine sometimes the other side was.)
 */
describe('deadlocks (PostgreSQL)', () => {
  const url = inject('postgresUrl');
  const table = `deadlock_probe_${uniqueSuffix().replace(/[^a-z0-9]/gi, '_')}`;
  let db: Database | undefined;
  let other: pg.Client | undefined;

  beforeAll(async () => {
    if (!url) return;
    db = await openDatabase({ kind: 'postgres', url });
    other = new pg.Client({ connectionString: url });
    await other.connect();
    await other.query(`SET deadlock_timeout = '10s'`);
    await other.query(`CREATE TABLE ${table} (id int PRIMARY KEY, v int NOT NULL)`);
  });
  afterAll(async () => {
    await other?.query(`DROP TABLE IF EXISTS ${table}`);
    await other?.end();
    await db?.close();
  });

  const bump = (id: number) => `UPDATE ${table} SET v = v + 1 WHERE id = ${id}`;

  /**
   * Runs `transaction` under `retryOnDeadlock`. Its first attempt meets the other side: that
   * holds row 2 while the attempt, holding row 1, asks for it; once the attempt waits, the other
   * side asks for row 1. Returns the attempts made and the errors they ended with.
   */
  async function deadlocked(
    transaction: (
      take: (id: number, step: () => Promise<unknown>, pid: number) => Promise<void>,
    ) => Promise<void>,
  ): Promise<{ attempts: number; errors: unknown[]; otherError: unknown }> {
    await other!.query(`DELETE FROM ${table}`);
    await other!.query(`INSERT INTO ${table} VALUES (1, 0), (2, 0)`);
    let attempts = 0;
    const errors: unknown[] = [];
    let blocker: Promise<unknown> = Promise.resolve(null);
    await retryOnDeadlock(async () => {
      attempts++;
      const first = attempts === 1;
      try {
        await transaction(async (id, step, pid) => {
          if (first && id === 2) {
            await other!.query('BEGIN');
            await other!.query(bump(2));
            const mine = (async () => {
              // Once this side waits on a lock, the other side asks for row 1.
              for (;;) {
                // In a transaction pg_stat_activity is read once and kept: read it afresh.
                await other!.query('SELECT pg_stat_clear_snapshot()');
                const { rows } = await other!.query<{ w: string | null }>(
                  'SELECT wait_event_type AS w FROM pg_stat_activity WHERE pid = $1',
                  [pid],
                );
                if (rows[0]?.w === 'Lock') break;
                await new Promise((r) => setTimeout(r, 20));
              }
              // Settled here, so that a failure is reported by the test, not as unhandled.
              blocker = other!.query(bump(1)).then(
                () => other!.query('COMMIT').then(() => null),
                (error: unknown) => other!.query('ROLLBACK').then(() => error),
              );
            })();
            // Started now: a Prisma query runs only once something awaits it.
            const taken = Promise.resolve().then(step);
            await mine;
            await taken;
            return;
          }
          await step();
        });
      } catch (error) {
        errors.push(error);
        throw error;
      }
    });
    const otherError = await blocker;
    return { attempts, errors, otherError };
  }

  it('retries a pg transaction that PostgreSQL aborted to break a deadlock', async (ctx) => {
    if (!url || !other) return ctx.skip();
    const mine = new pg.Client({ connectionString: url });
    await mine.connect();
    try {
      const { rows: me } = await mine.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      const pid = me[0]?.pid ?? 0;
      const { attempts, errors, otherError } = await deadlocked(async (take) => {
        await mine.query('BEGIN');
        try {
          await take(1, () => mine.query(bump(1)), pid);
          await take(2, () => mine.query(bump(2)), pid);
          await mine.query('COMMIT');
        } catch (error) {
          await mine.query('ROLLBACK');
          throw error;
        }
      });
      expect(otherError).toBeNull();
      expect(attempts).toBe(2);
      expect(errors.map(isDeadlock)).toEqual([true]);
      const { rows } = await other.query<{ v: number }>(`SELECT v FROM ${table} ORDER BY id`);
      expect(rows.map((r) => r.v)).toEqual([2, 2]); // each side's transaction once
    } finally {
      await mine.end();
    }
  });

  it('retries a Prisma transaction that PostgreSQL aborted to break a deadlock', async (ctx) => {
    if (!url || !other || !db) return ctx.skip();
    const prisma = db.prisma;
    const { attempts, errors, otherError } = await deadlocked((take) =>
      prisma.$transaction(async (tx) => {
        const [me] = await tx.$queryRawUnsafe<{ pid: number }[]>('SELECT pg_backend_pid() AS pid');
        await take(1, () => tx.$executeRawUnsafe(bump(1)), me?.pid ?? 0);
        await take(2, () => tx.$executeRawUnsafe(bump(2)), me?.pid ?? 0);
      }),
    );
    expect(otherError).toBeNull();
    expect(attempts).toBe(2);
    expect(errors.map(isDeadlock)).toEqual([true]);
    const { rows } = await other.query<{ v: number }>(`SELECT v FROM ${table} ORDER BY id`);
    expect(rows.map((r) => r.v)).toEqual([2, 2]);
  });

  it('does not retry other errors', async () => {
    let attempts = 0;
    await expect(
      retryOnDeadlock(() => {
        attempts++;
        return Promise.reject(new Error('not a deadlock'));
      }),
    ).rejects.toThrow('not a deadlock');
    expect(attempts).toBe(1);
  });
});
