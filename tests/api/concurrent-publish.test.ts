import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkspace } from './workspaces.js';
import { databaseVariants, startTestEngine, uniqueSuffix } from '../support/engine.js';
import { apiClient, type ApiClient } from '../support/http.js';

/**
 * Publishing one journey, scoring model or template from several requests at once (a deploy
 * run twice, a double click). Journeys and models upsert their row, which serializes the
 * publishes: every changed definition is a version of its own. Templates were checked and
 * then created, and all but one of a name failed on the unique key with a 500; now a 409.
 * PostgreSQL only: the embedded database runs one transaction at a time.
 */
describe.runIf(databaseVariants().includes('postgres'))('publishing at the same moment', () => {
  let engine: Awaited<ReturnType<typeof startTestEngine>>;
  let api: ApiClient;
  beforeAll(async () => {
    engine = await startTestEngine('postgres');
    api = (await createWorkspace(apiClient(engine), `publish-${uniqueSuffix()}`)).api;
  });
  afterAll(async () => engine?.cleanup());

  const AT_ONCE = 6;
  const statuses = (answers: readonly { status: number; body: unknown }[]) =>
    answers.map((a) => (a.status >= 500 ? `${a.status} ${JSON.stringify(a.body)}` : a.status));

  it('makes a version of every changed journey definition', async () => {
    const key = `race-${uniqueSuffix()}`;
    const answers = await Promise.all(
      Array.from({ length: AT_ONCE }, (_, i) =>
        api.post('/v1/journeys', {
          id: key,
          name: `Race ${i}`,
          triggers: [{ type: 'event', event: `raced_${i}` }],
          steps: [{ id: 'hello', type: 'sendEmail', template: 'welcome' }],
        }),
      ),
    );
    expect(statuses(answers)).toEqual(Array.from({ length: AT_ONCE }, () => 201));
    const versions = answers.map((a) => (a.body as { version: number }).version);
    expect([...versions].sort()).toEqual(Array.from({ length: AT_ONCE }, (_, i) => i + 1));
  });

  it('makes a version of every changed scoring model', async () => {
    const key = `race-${uniqueSuffix()}`;
    const answers = await Promise.all(
      Array.from({ length: AT_ONCE }, (_, i) =>
        api.post('/v1/scoring-models', {
          id: key,
          name: 'Race',
          engagement: { rules: [{ id: 'visit', event: 'visited', points: i + 1 }] },
        }),
      ),
    );
    expect(statuses(answers).every((s) => s === 201 || s === 200)).toBe(true);
    const stored = (await api.get(`/v1/scoring-models/${key}`)).body as {
      versions: { version: number }[];
    };
    expect(stored.versions.map((v) => v.version).sort()).toEqual(
      Array.from({ length: AT_ONCE }, (_, i) => i + 1),
    );
  });

  it('stores one template of a name and answers the others with a 409', async () => {
    const name = `race-${uniqueSuffix()}`;
    const answers = await Promise.all(
      Array.from({ length: AT_ONCE }, (_, i) =>
        api.post('/v1/templates', { name, subject: `Hi ${i}`, html: `<p>Version ${i}</p>` }),
      ),
    );
    expect(statuses(answers).sort()).toEqual([
      201,
      ...Array.from({ length: AT_ONCE - 1 }, () => 409),
    ]);
  });
});
