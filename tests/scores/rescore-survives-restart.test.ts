import { afterAll, describe, expect, it } from 'vitest';
import { databaseVariants, deploymentParts, eventually, uniqueSuffix } from '../support/engine.js';
import { apiClient } from '../support/http.js';
import { createWorkspace } from '../api/workspaces.js';

const CONTACTS = 300;

/**
 * Applying a scoring version rescores every contact with events. The rescore is carried by
 * Temporal, not by the process that applied the version: that process stops at once (a deploy,
 * a crash), and another, started later on the same database, finishes the rescore.
 */
describe.each(databaseVariants())(
  'a rescore outlives the process that applied it (%s)',
  (variant) => {
    let parts: Awaited<ReturnType<typeof deploymentParts>> | undefined;
    afterAll(async () => {
      await parts?.stopAll();
    });

    it('finishes the rescore in a process started after the applying one stopped', async () => {
      const s = uniqueSuffix();
      parts = await deploymentParts(variant, 'rescore');
      const start = parts.start;
      const event = `visited_${s}`;
      const model = (points: number) => ({
        id: `restart-${s}`,
        name: 'Visits',
        engagement: { rules: [{ id: 'visit', event, points }] },
      });

      // The first process: the API only, so no worker of its own can do the rescore.
      const first = await start({ api: true, worker: false });
      // A workspace of its own: the rescore covers every contact of the workspace, and on the
      // shared PostgreSQL database the default one holds the contacts of every other test file.
      const workspace = await createWorkspace(apiClient(first), `restart-${s}`);
      const api = workspace.api;
      expect((await api.post('/v1/scoring-models', model(1))).status).toBe(201);
      for (let i = 0; i < CONTACTS; i += 100) {
        const batch = Array.from({ length: 100 }, (_, j) => ({
          type: 'track',
          userId: `r-${s}-${i + j}`,
          event,
          messageId: `m-${s}-${i + j}`,
        }));
        expect((await api.post('/v1/batch', { batch })).status).toBe(200);
      }
      expect((await api.post('/v1/scoring-models', model(10))).status).toBe(201);
      const applied = await api.post(`/v1/scoring-models/restart-${s}/versions/2/apply`, {});
      expect(applied.status, JSON.stringify(applied.body)).toBe(202);
      expect(applied.body).toMatchObject({ rescore: { status: 'running', total: CONTACTS } });
      await first.stop();

      const second = await start({ api: true, worker: true });
      const again = apiClient({
        apiUrl: second.apiUrl,
        apiHeaders: { authorization: `Bearer ${workspace.key}` },
      });
      const rescore = await eventually(
        async () => {
          // The new API may listen on the port the first one freed, where the client's pooled
          // connection to the old one then fails once: asked again on the next round.
          const read = await again.get(`/v1/scoring-models/restart-${s}`).catch(() => null);
          if (!read) return undefined;
          const body = read.body as {
            versions: {
              version: number;
              rescore: { status: string; total: number; done: number };
            }[];
          };
          const v2 = body.versions.find((v) => v.version === 2)?.rescore;
          return v2?.status === 'running' ? undefined : v2;
        },
        100_000,
        'the rescore to end',
      );
      expect(rescore).toEqual({ status: 'done', total: CONTACTS, done: CONTACTS });
      const scores = await second.deps.sql.query<{ points: number; n: number }>(
        `SELECT s.points, count(*)::int AS n FROM contact_scores s
       JOIN scoring_model_versions v ON v.id = s.version_id
       JOIN scoring_models m ON m.id = v.model_id
       WHERE m.key = $1 AND v.version = 2 GROUP BY s.points`,
        [`restart-${s}`],
      );
      expect(scores.map((r) => ({ points: Number(r.points), n: r.n }))).toEqual([
        { points: 10, n: CONTACTS },
      ]);
    }, 120_000);
  },
);
