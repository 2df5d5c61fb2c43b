import type { Client } from '@temporalio/client';
import type { Sql } from '../../store/index.js';

/**
 * Runs `work` while the database refuses inserts into `table` for which `when` (SQL over NEW)
 * holds, as a database error at that write would: a real fault in the real database, in a
 * trigger, which only rows the test makes meet (on PostgreSQL the run's test files share it).
 */
export async function refusingInserts<T>(
  sql: Sql,
  table: string,
  when: string,
  work: () => Promise<T>,
): Promise<T> {
  const fault = `refuse_${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
  // Made and dropped in one transaction each, so no function is left without its trigger. A
  // trigger's DDL waits for the table's open writers and holds up new ones meanwhile: not for
  // long, on a table other files write to at the same time.
  await sql.transaction(async (tx) => {
    await tx.query(`SET LOCAL lock_timeout = '10s'`);
    await tx.query(
      `CREATE FUNCTION ${fault}() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF (${when}) THEN RAISE EXCEPTION 'database briefly unavailable'; END IF;
         RETURN NEW;
       END $$`,
    );
    await tx.query(
      `CREATE TRIGGER ${fault} BEFORE INSERT ON ${table} FOR EACH ROW EXECUTE FUNCTION ${fault}()`,
    );
  });
  try {
    return await work();
  } finally {
    await sql.transaction(async (tx) => {
      await tx.query(`DROP TRIGGER ${fault} ON ${table}`);
      await tx.query(`DROP FUNCTION ${fault}()`);
    });
  }
}

/**
 * The engine's Temporal client with Temporal refusing workflow starts (`start`) or signals
 * (`signal`), as when it is unavailable; everything else goes through.
 */
export function temporalRefusing(temporal: Client, what: 'start' | 'signal'): Client {
  const refused = () => Promise.reject(new Error('Temporal unavailable'));
  const workflow = new Proxy(temporal.workflow, {
    get: (target, name) => {
      if (what === 'start' && name === 'start') return refused;
      if (what === 'signal' && name === 'getHandle') return () => ({ signal: refused });
      return Reflect.get(target, name, target) as unknown;
    },
  });
  return new Proxy(temporal, {
    get: (target, name) =>
      name === 'workflow' ? workflow : (Reflect.get(target, name, target) as unknown),
  });
}

/** The engine's Temporal client, counting the workflows started through it. */
export function countingStarts(temporal: Client): { client: Client; starts: () => number } {
  let count = 0;
  const workflow = new Proxy(temporal.workflow, {
    get: (target, name) => {
      const value = Reflect.get(target, name, target) as unknown;
      if (name !== 'start' || typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        count += 1;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  const client = new Proxy(temporal, {
    get: (target, name) =>
      name === 'workflow' ? workflow : (Reflect.get(target, name, target) as unknown),
  });
  return { client, starts: () => count };
}

/**
 * The engine's statements with the named one (`{ name }` in store/sql.ts) refused, as a
 * database blip at that write would be; the others, and transactions, go through.
 */
export function sqlRefusing(sql: Sql, statement: string): Sql {
  return {
    query: (text, params, options) =>
      options?.name === statement
        ? Promise.reject(new Error('database briefly unavailable'))
        : sql.query(text, params, options),
    transaction: (work) => sql.transaction(work),
  };
}
