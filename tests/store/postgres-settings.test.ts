import { describe, expect, inject, it } from 'vitest';
import { openDatabase } from '../../store/index.js';

describe('the PostgreSQL connections of the engine', () => {
  it('reuse the plans of named statements, and keep the options the URL gives', async (ctx) => {
    const postgresUrl = inject('postgresUrl');
    if (!postgresUrl) return ctx.skip();
    const url = new URL(postgresUrl);
    url.searchParams.set('options', '-c statement_timeout=7s');
    const db = await openDatabase({ kind: 'postgres', url: url.toString(), poolSize: 1 });
    try {
      const [row] = await db.sql.query<{ plans: string; timeout: string; pageCost: string }>(
        `SELECT current_setting('plan_cache_mode') AS plans,
                current_setting('statement_timeout') AS timeout,
                current_setting('random_page_cost') AS "pageCost"`,
      );
      expect(row).toEqual({ plans: 'force_generic_plan', timeout: '7s', pageCost: '1.1' });
      // A named statement answers on one reused plan whatever the array's size: the server
      // made no plan for a call's own values (its view of the connection's statements, 14+).
      for (const ids of [['a'], ['a', 'b', 'c']]) {
        const rows = await db.sql.query<{ n: string }>(
          'SELECT count(*) AS n FROM unnest($1::text[])',
          [ids],
          { name: 'settings-test-count' },
        );
        expect(Number(rows[0]?.n)).toBe(ids.length);
      }
      const [plans] = await db.sql.query<{ generic: string; custom: string }>(
        `SELECT generic_plans AS generic, custom_plans AS custom
         FROM pg_prepared_statements WHERE name = 'settings-test-count'`,
      );
      expect(plans).toEqual({ generic: '2', custom: '0' });
    } finally {
      await db.close();
    }
  });

  it('take the random_page_cost the URL gives over their own', async (ctx) => {
    const postgresUrl = inject('postgresUrl');
    if (!postgresUrl) return ctx.skip();
    const url = new URL(postgresUrl);
    url.searchParams.set('options', '-c random_page_cost=3');
    const db = await openDatabase({ kind: 'postgres', url: url.toString(), poolSize: 1 });
    try {
      const [row] = await db.sql.query<{ pageCost: string }>(
        `SELECT current_setting('random_page_cost') AS "pageCost"`,
      );
      expect(row).toEqual({ pageCost: '3' });
    } finally {
      await db.close();
    }
  });
});
