import { mkdir } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '@prisma/client';
import pg from 'pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { applyMigrations, type SqlRunner } from './migrate.js';
import { pgliteSql, postgresSql, type Sql } from './sql.js';
import { isUniqueViolation } from './unique-violation.js';

export type DatabaseKind = 'embedded' | 'postgres';

export interface Database {
  readonly kind: DatabaseKind;
  /** Where the data lives, for the start-up banner (never includes a password). */
  readonly location: string;
  readonly prisma: PrismaClient;
  /** The same database through the driver, for hot paths (see `store/sql.ts`). */
  readonly sql: Sql;
  close(): Promise<void>;
}

export type DatabaseOptions =
  | { readonly kind: 'embedded'; readonly dataDir: string | null /* null = in memory */ }
  | { readonly kind: 'postgres'; readonly url: string; readonly poolSize?: number };

export const DEFAULT_WORKSPACE_ID = 'default';

/**
 * Opens the database, applies pending migrations and makes sure the default workspace exists.
 * Embedded mode is PGlite (PostgreSQL compiled to WebAssembly) in this process, so one schema
 * and one migration history serve both modes.
 */
export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  const db =
    options.kind === 'embedded'
      ? await openEmbedded(options.dataDir)
      : await openPostgres(options.url, options.poolSize);
  // Prisma's upsert reads, then inserts: a process opening the same new database at the same
  // moment (the API and a worker starting together) may insert first, which is as good.
  await db.prisma.workspace
    .upsert({
      where: { id: DEFAULT_WORKSPACE_ID },
      create: { id: DEFAULT_WORKSPACE_ID, name: 'Default workspace' },
      update: {},
    })
    .catch((error: unknown) => {
      if (!isUniqueViolation(error)) throw error;
    });
  return db;
}

async function openEmbedded(dataDir: string | null): Promise<Database> {
  if (dataDir) await mkdir(dataDir, { recursive: true });
  const lite = dataDir ? new PGlite(dataDir) : new PGlite();
  await applyMigrations({
    exec: async (sql) => {
      await lite.exec(sql);
    },
    query: async <R>(sql: string, params?: unknown[]) => (await lite.query<R>(sql, params)).rows,
  });
  const prisma = new PrismaClient({ adapter: new PrismaPGlite(lite) });
  return {
    kind: 'embedded',
    location: dataDir ?? 'in memory',
    prisma,
    sql: pgliteSql(lite),
    close: async () => {
      await prisma.$disconnect();
      await lite.close();
    },
  };
}

async function openPostgres(url: string, poolSize = 10): Promise<Database> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const runner: SqlRunner = {
      exec: async (sql) => {
        await client.query(sql);
      },
      query: async <R>(sql: string, params?: unknown[]) =>
        (await client.query(sql, params)).rows as R[],
    };
    await applyMigrations(runner);
  } finally {
    await client.end();
  }
  const prisma = new PrismaClient({
    adapter: new PrismaPg({ connectionString: url, max: poolSize }),
  });
  const pool = new pg.Pool({ ...withGenericPlans(url), max: poolSize, types: utcTimestamps() });
  pool.on('error', () => undefined); // an idle connection dropped by the server is replaced
  return {
    kind: 'postgres',
    location: redact(url),
    prisma,
    sql: postgresSql(pool),
    close: async () => {
      await prisma.$disconnect();
      await pool.end();
    },
  };
}

/**
 * Named statements (`Sql.query`'s `name`) keep one plan per connection. Left to itself the server
 * plans them afresh on every call: the hot statements take their rows as arrays (`unnest($1)`),
 * whose size a reusable plan cannot know, so it is costed for a hundred rows and always loses to
 * a plan made for the call's one. Planning was then most of the work: 0.5 ms a call for
 * accepting a track or reading a send, beside 0.1 to 0.2 ms of execution (pg_stat_statements,
 * execution benchmark), and about two thirds of PostgreSQL's CPU per enrollment. The reused plan
 * looks the rows up by key whatever the array's size.
 *
 * A reused plan is made once per connection, with the statistics of that moment, until the
 * table is analyzed again. On tables of a few thousand rows the default `random_page_cost` (4,
 * for disks) made a scan of the whole table look cheaper than ten index probes, and the plan
 * kept doing it: marking an event routed scanned every event (0.43 to 0.52 ms a call) and
 * reading a send every contact (0.43 to 0.49 ms), against 0.08 to 0.11 and 0.11 to 0.17 ms with
 * 1.1, the usual value when the data is cached or on SSDs (execution benchmark, auto_explain and
 * pg_stat_statements). A `random_page_cost` in the URL's `options` wins over this one; one set
 * with `ALTER DATABASE` or `ALTER ROLE` does not (a connection's startup options come first).
 */
function withGenericPlans(url: string): { connectionString: string; options: string } {
  // The URL's own `options` would replace these, so they are joined and taken out of it.
  const parsed = new URL(url);
  const theirs = parsed.searchParams.get('options');
  parsed.searchParams.delete('options');
  return {
    connectionString: parsed.toString(),
    options: ['-c random_page_cost=1.1', theirs, '-c plan_cache_mode=force_generic_plan']
      .filter(Boolean)
      .join(' '),
  };
}

/** `timestamp` columns hold UTC wall-clock time (as Prisma writes them), not local time. */
function utcTimestamps(): pg.TypeOverrides {
  const types = new pg.TypeOverrides();
  types.setTypeParser(
    pg.types.builtins.TIMESTAMP,
    (value) => new Date(`${value.replace(' ', 'T')}Z`),
  );
  return types;
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres';
  }
}
