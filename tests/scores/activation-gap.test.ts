import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyScoringVersion, ingest } from '../../engine/index.js';
import type { Sql } from '../../store/index.js';
import { databaseVariants, startTestEngine, uniqueSuffix } from '../support/engine.js';
import { apiClient } from '../support/http.js';
import { createWorkspace } from '../api/workspaces.js';

const ACTIVE_VERSIONS = 'JOIN scoring_model_versions v ON v.id = m.active_version_id';

/**
 * Applying a scoring version while another process still scores under the old one: each
 * process keeps the active versions it read for a second, so an event it accepts in that
 * second is scored under the old version only, and its contact may be one the rescore did not
 * list (it had no events yet). The rescore scores such contacts again once that second has
 * passed. The other process is played by this one with the active versions it read before.
 */
describe.each(databaseVariants())('a scoring version applied meanwhile (%s)', (variant) => {
  let engine: Awaited<ReturnType<typeof startTestEngine>>;
  beforeAll(async () => {
    engine = await startTestEngine(variant);
  });
  afterAll(async () => engine?.cleanup());

  it('scores under the new version a contact whose first event came in that second', async () => {
    const s = uniqueSuffix();
    const event = `visited_${s}`;
    const model = (points: number) => ({
      id: `gap-${s}`,
      name: 'Visits',
      engagement: { rules: [{ id: 'visit', event, points }] },
    });
    // A workspace of its own: the rescore covers every contact of the workspace, and on the
    // shared PostgreSQL database the default one holds the contacts of every other test file.
    const { id: workspace, api } = await createWorkspace(apiClient(engine), `gap-${s}`);
    expect((await api.post('/v1/scoring-models', model(1))).status).toBe(201);
    expect((await api.post('/v1/scoring-models', model(10))).status).toBe(201);
    const [v2] = await engine.deps.sql.query<{ id: string }>(
      `SELECT v.id FROM scoring_model_versions v JOIN scoring_models m ON m.id = v.model_id
       WHERE m.key = $1 AND v.version = 2`,
      [`gap-${s}`],
    );
    // What the other process read before the apply: version 1 active.
    const before = await engine.deps.sql.query(
      `SELECT m.id AS model_id, v.id AS version_id, v.plan
       FROM scoring_models m ${ACTIVE_VERSIONS} WHERE m.workspace_id = $1`,
      [workspace],
    );
    const stale: Sql = {
      query: (text, params, options) =>
        text.includes(ACTIVE_VERSIONS)
          ? Promise.resolve(before as never)
          : engine.deps.sql.query(text, params, options),
      transaction: (work) => engine.deps.sql.transaction(work),
    };
    const applied = await applyScoringVersion(engine.deps, workspace, v2?.id ?? '');
    // A new contact's first event, accepted by the other process under version 1 only.
    await ingest({ ...engine.deps, sql: stale }, workspace, {
      type: 'track',
      messageId: `late-${s}`,
      userId: `late-${s}`,
      anonymousId: null,
      event,
      traits: {},
      properties: {},
      timestamp: new Date(),
    });
    await applied.done();

    const scored = await engine.deps.sql.query<{ version_id: string; points: number }>(
      `SELECT s.version_id, s.points FROM contact_scores s JOIN contacts c ON c.id = s.contact_id
       WHERE c.user_id = $1`,
      [`late-${s}`],
    );
    expect(scored.filter((r) => r.version_id === v2?.id).map((r) => Number(r.points))).toEqual([
      10,
    ]);
    const [version] = await engine.deps.sql.query<{ rescore_status: string }>(
      'SELECT rescore_status FROM scoring_model_versions WHERE id = $1',
      [v2?.id ?? ''],
    );
    expect(version?.rescore_status).toBe('done');
  });
});
