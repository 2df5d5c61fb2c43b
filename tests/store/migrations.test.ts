import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';
import { applyMigrations, openDatabase } from '../../store/index.js';

const run = promisify(execFile);

describe('database migrations', () => {
  it(
    'bring an empty database exactly to prisma/schema.prisma (no drift)',
    { timeout: 120_000 },
    async (ctx) => {
      const postgresUrl = inject('postgresUrl');
      if (!postgresUrl) return ctx.skip();
      // Prisma's own drift check needs a shadow database, which it refuses with a driver adapter;
      // so build one database from the migrations and one from the schema, and compare them.
      const { stdout: schemaSql } = await run(
        'node_modules/.bin/prisma',
        [
          'migrate',
          'diff',
          '--from-empty',
          '--to-schema-datamodel',
          'prisma/schema.prisma',
          '--script',
        ],
        { env: { ...process.env, DATABASE_URL: postgresUrl } },
      );
      const migrated = await scratchDatabase(postgresUrl, 'migrated');
      const declared = await scratchDatabase(postgresUrl, 'declared');
      try {
        await applyMigrations(runner(migrated.client));
        await declared.client.query(schemaSql);
        // What the schema cannot declare (partial indexes), as the migrations make it.
        await declared.client.query(await readFile('prisma/partial-indexes.sql', 'utf8'));
        const [fromMigrations, fromSchema] = [
          await shape(migrated.client),
          await shape(declared.client),
        ];
        // Only what differs, so a failure names the column or index that drifted.
        const onlyIn = (a: string[], b: string[]) => a.filter((row) => !b.includes(row));
        expect({
          missingFromMigrations: onlyIn(fromSchema, fromMigrations),
          notInSchema: onlyIn(fromMigrations, fromSchema),
        }).toEqual({ missingFromMigrations: [], notInSchema: [] });
      } finally {
        await migrated.drop();
        await declared.drop();
      }
    },
  );

  it('are applied once, and a second start applies nothing', async () => {
    const db = await openDatabase({ kind: 'embedded', dataDir: null });
    try {
      const applied = await applyMigrations({
        exec: async (sql) => {
          await db.prisma.$executeRawUnsafe(sql);
        },
        query: (sql, params = []) => db.prisma.$queryRawUnsafe(sql, ...params),
      });
      expect(applied).toEqual([]);
      const rows = await db.prisma.$queryRawUnsafe<{ migration_name: string }[]>(
        'SELECT migration_name FROM "_prisma_migrations" ORDER BY migration_name',
      );
      expect(rows.length).toBeGreaterThan(0);
    } finally {
      await db.close();
    }
  });
});

describe('opening a new database', () => {
  it('works from two processes at once (the API and a worker starting together)', async (ctx) => {
    const postgresUrl = inject('postgresUrl');
    if (!postgresUrl) return ctx.skip();
    const scratch = await scratchDatabase(postgresUrl, `together_${process.pid}`);
    try {
      // Pairs racing to make the default workspace of a database without one (the first pair
      // also races to migrate it).
      for (let i = 0; i < 10; i++) {
        if (i > 0) await scratch.client.query('DELETE FROM workspaces');
        const both = await Promise.all([
          openDatabase({ kind: 'postgres', url: scratch.url }),
          openDatabase({ kind: 'postgres', url: scratch.url }),
        ]);
        await Promise.all(both.map((db) => db.close()));
        const { rows } = await scratch.client.query<{ n: string }>(
          'SELECT count(*) AS n FROM workspaces',
        );
        expect(Number(rows[0]?.n)).toBe(1);
      }
    } finally {
      await scratch.drop();
    }
  });
});

async function scratchDatabase(
  baseUrl: string,
  suffix: string,
): Promise<{ url: string; client: pg.Client; drop(): Promise<void> }> {
  const url = new URL(baseUrl);
  const name = `${url.pathname.slice(1)}_${suffix}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  url.pathname = `/${name}`;
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  return {
    url: url.toString(),
    client,
    drop: async () => {
      await client.end();
      await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await admin.end();
    },
  };
}

function runner(client: pg.Client) {
  return {
    exec: async (sql: string) => {
      await client.query(sql);
    },
    query: async <R>(sql: string, params?: unknown[]) =>
      (await client.query(sql, params)).rows as R[],
  };
}

/** Tables, columns, indexes and constraints of the public schema, in a comparable form. */
async function shape(client: pg.Client): Promise<string[]> {
  const q = async (sql: string) => (await client.query(sql)).rows.map((row) => JSON.stringify(row));
  const parts = {
    columns:
      await q(`SELECT table_name, column_name, data_type, is_nullable, column_default FROM information_schema.columns
      WHERE table_schema = 'public' AND table_name <> '_prisma_migrations' ORDER BY table_name, column_name`),
    indexes: await q(`SELECT tablename, indexname, indexdef FROM pg_indexes
      WHERE schemaname = 'public' AND tablename <> '_prisma_migrations' ORDER BY tablename, indexname`),
    constraints:
      await q(`SELECT conrelid::regclass::text AS table_name, conname, pg_get_constraintdef(oid) AS def FROM pg_constraint
      WHERE connamespace = 'public'::regnamespace AND conrelid::regclass::text NOT IN ('_prisma_migrations', '"_prisma_migrations"') ORDER BY 1, 2`),
  };
  return [...parts.columns, ...parts.indexes, ...parts.constraints];
}
