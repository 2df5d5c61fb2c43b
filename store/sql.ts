import type { PGlite, Transaction } from '@electric-sql/pglite';
import type { Prisma } from '@prisma/client';
import type pg from 'pg';

/**
 * Plain SQL beside Prisma, for the hot paths (accepting events, routing them, enrolling,
 * sending). Here a Prisma query costs about ten times the CPU of the same statement through
 * the driver, and these paths run several statements per event; everything else stays on
 * Prisma. Timestamps are written as UTC text (`sqlTime`) and read back as epoch
 * milliseconds in SQL, so neither driver's date parsing matters.
 */
export interface Sql {
  /**
   * `name` makes it a prepared statement on PostgreSQL (parsed and planned once per
   * connection), for statements that run on every event or send; the embedded database
   * ignores it.
   */
  query<R extends object>(
    text: string,
    params?: readonly unknown[],
    options?: { readonly name?: string },
  ): Promise<R[]>;
  /** Runs `work` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(work: (tx: Sql) => Promise<T>): Promise<T>;
}

/** Timestamps go to `timestamp(3)` columns as UTC wall-clock text, as Prisma stores them. */
export function sqlTime(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '');
}

export function postgresSql(pool: pg.Pool): Sql {
  const on = (client: pg.Pool | pg.PoolClient, inTransaction: boolean): Sql => ({
    query: async <R extends object>(
      text: string,
      params?: readonly unknown[],
      options?: { readonly name?: string },
    ) => {
      const values = params ? [...params] : undefined;
      const name = options?.name;
      return (await client.query<R>(name ? { name, text, values } : { text, values })).rows;
    },
    transaction: async (work) => {
      if (inTransaction) return work(on(client, true));
      const conn = await pool.connect();
      try {
        await conn.query('BEGIN');
        const result = await work(on(conn, true));
        await conn.query('COMMIT');
        return result;
      } catch (error) {
        await conn.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        conn.release();
      }
    },
  });
  return on(pool, false);
}

export function pgliteSql(lite: PGlite): Sql {
  const on = (db: PGlite | Transaction): Sql => ({
    query: async <R extends object>(text: string, params?: readonly unknown[]) =>
      (await db.query<R>(text, params ? [...params] : undefined)).rows,
    transaction: (work) => (db === lite ? lite.transaction((tx) => work(on(tx))) : work(on(db))),
  });
  return on(lite);
}

/**
 * The same interface inside a Prisma interactive transaction, for a statement that a plain-SQL
 * path shares with one that runs on Prisma (so both write it in their own transaction).
 */
export function prismaTxSql(tx: Pick<Prisma.TransactionClient, '$queryRawUnsafe'>): Sql {
  const self: Sql = {
    query: <R extends object>(text: string, params?: readonly unknown[]) =>
      tx.$queryRawUnsafe<R[]>(text, ...(params ?? [])),
    transaction: (work) => work(self),
  };
  return self;
}
