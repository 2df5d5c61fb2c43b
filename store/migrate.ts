import { createHash, randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The minimal SQL surface migrations need; both PGlite and `pg` provide it. */
export interface SqlRunner {
  exec(sql: string): Promise<void>;
  query<R>(sql: string, params?: unknown[]): Promise<R[]>;
}

export const MIGRATIONS_DIR = new URL('../prisma/migrations/', import.meta.url).pathname;

/**
 * Applies `prisma/migrations/*` in order, recording them in Prisma's own `_prisma_migrations`
 * table (same columns, sha256 checksums), so `prisma migrate status` agrees with us. Done
 * in-process because Prisma's migrate CLI cannot reach an in-process PGlite. Each migration runs
 * in a transaction; a lock keeps two processes starting at once from both applying it.
 */
export async function applyMigrations(db: SqlRunner, dir = MIGRATIONS_DIR): Promise<string[]> {
  // Under the lock too: two processes creating the table at once collide in the catalog.
  await locked(db, () =>
    db.exec(`CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id" VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum" VARCHAR(64) NOT NULL,
    "finished_at" TIMESTAMPTZ,
    "migration_name" VARCHAR(255) NOT NULL,
    "logs" TEXT,
    "rolled_back_at" TIMESTAMPTZ,
    "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count" INTEGER NOT NULL DEFAULT 0
  )`),
  );
  const names = (await readdir(dir, { withFileTypes: true }))
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  const applied: string[] = [];
  for (const name of names) {
    const sql = await readFile(join(dir, name, 'migration.sql'), 'utf8');
    const checksum = createHash('sha256').update(sql).digest('hex');
    await locked(db, async () => {
      const done = await db.query<{ checksum: string }>(
        'SELECT checksum FROM "_prisma_migrations" WHERE migration_name = $1 AND finished_at IS NOT NULL AND rolled_back_at IS NULL',
        [name],
      );
      if (done.length === 0) {
        await db.exec(sql);
        await db.query(
          'INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, applied_steps_count) VALUES ($1, $2, now(), $3, 1)',
          [randomUUID(), checksum, name],
        );
        applied.push(name);
      } else if (done[0]?.checksum !== checksum) {
        throw new Error(
          `Migration ${name} was changed after it was applied; add a new migration instead.`,
        );
      }
    });
  }
  return applied;
}

/** Runs `work` in a transaction holding the migrations' lock (one process at a time). */
async function locked(db: SqlRunner, work: () => Promise<void>): Promise<void> {
  await db.exec('BEGIN');
  try {
    await db.exec('SELECT pg_advisory_xact_lock(727274)');
    await work();
    await db.exec('COMMIT');
  } catch (error) {
    await db.exec('ROLLBACK');
    throw error;
  }
}
