import pg from 'pg';

const ADMIN_URL =
  process.env.TEST_POSTGRES_ADMIN_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

/**
 * A new PostgreSQL database, or null when none is reachable (an error on CI, which must have
 * one). The run makes one that its test files share (tests/setup/global.ts); a file whose
 * processes route every workspace's events (the routing sweep with a short recovery time)
 * makes its own, so it cannot take another file's events.
 */
export async function createPostgresDatabase(): Promise<{
  url: string;
  drop: () => Promise<void>;
} | null> {
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  try {
    await admin.connect();
  } catch (error) {
    if (process.env.CI)
      throw new Error(`CI must reach PostgreSQL at ${ADMIN_URL}`, { cause: error });
    console.warn(
      `[tests] PostgreSQL not reachable at ${ADMIN_URL}; PostgreSQL variants are skipped.`,
    );
    return null;
  }
  const name = `drumbeat_test_${process.pid}_${Date.now()}_${Math.random().toString(36).slice(2, 8)}`;
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: ADMIN_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await c.end();
    },
  };
}
