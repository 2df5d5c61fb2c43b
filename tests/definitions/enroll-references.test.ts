import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createWorkspace, type OtherWorkspace } from '../api/workspaces.js';
import { databaseVariants, startTestEngine, uniqueSuffix } from '../support/engine.js';
import { apiClient } from '../support/http.js';

interface ProblemBody {
  status: number;
  errors: { pointer: string; code: string; detail: string }[];
}

const run = promisify(execFile);

const journey = (id: string, steps: unknown[]) => ({
  id,
  name: `Journey ${id}`,
  triggers: [{ type: 'event', event: `${id}_started` }],
  steps,
});

/** `handoff-<s>`: a welcome email, then an `enroll` step into `target`. */
const handoff = (s: string, target: string) =>
  journey(`handoff-${s}`, [
    { id: 'welcome', type: 'sendEmail', template: 'welcome', next: 'upsell' },
    { id: 'upsell', type: 'enroll', journey: target },
  ]);

/**
 * A journey whose `enroll` step names a journey the workspace does not have, one that is
 * archived, or (when it is published, not saved as a draft) one that is only a draft, is
 * refused when it is published (problem+json, the pointer of the step's `journey`
 * field, a sentence a marketer understands) and nothing is stored, and so is publishing a saved
 * draft whose target was archived after it was saved; `drumbeat deploy` checks the same before
 * it publishes anything, counting the journeys it deploys as existing.
 */
describe.each(databaseVariants())(
  'enroll steps name journeys that exist (%s database)',
  (variant) => {
    let engine: Awaited<ReturnType<typeof startTestEngine>>;
    let ws: OtherWorkspace;

    beforeAll(async () => {
      engine = await startTestEngine(variant);
      ws = await createWorkspace(apiClient(engine), `References ${uniqueSuffix()}`);
    });
    afterAll(async () => {
      await engine?.cleanup();
    });

    it('refuses publishing an enroll into a missing or archived journey, and stores nothing', async () => {
      const s = uniqueSuffix();
      const upsell = journey(`upsell-${s}`, [{ id: 'offer', type: 'sendEmail', template: 'tips' }]);
      expect((await ws.api.post('/v1/journeys', upsell)).status).toBe(201);
      expect((await ws.api.post(`/v1/journeys/upsell-${s}/archive`, {})).status).toBe(200);

      const archived = await ws.api.post('/v1/journeys', handoff(s, `upsell-${s}`));
      expect(archived.status).toBe(422);
      expect(archived.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect((archived.body as ProblemBody).errors).toEqual([
        {
          pointer: '/steps/1/journey',
          code: 'archived-journey',
          detail: `Step \`upsell\` enrolls the contact in the journey \`upsell-${s}\`, which is archived: publish that journey again first, or pick another one.`,
        },
      ]);
      const missing = await ws.api.post('/v1/journeys', handoff(s, `upsel-${s}`));
      expect(missing.status).toBe(422);
      expect((missing.body as ProblemBody).errors).toEqual([
        {
          pointer: '/steps/1/journey',
          code: 'unknown-journey',
          detail: `Step \`upsell\` enrolls the contact in the journey \`upsel-${s}\`, which does not exist in this workspace.`,
        },
      ]);
      // Drafts are checked as well.
      const draft = await ws.api.post('/v1/journeys?draft=true', handoff(s, `upsell-${s}`));
      expect(draft.status).toBe(422);
      expect((await ws.api.get(`/v1/journeys/handoff-${s}`)).status).toBe(404);

      // Published again (unchanged), the journey is active and the reference is fine.
      expect((await ws.api.post('/v1/journeys', upsell)).status).toBe(200);
      expect((await ws.api.get(`/v1/journeys/upsell-${s}`)).body).toMatchObject({
        status: 'active',
      });
      const accepted = await ws.api.post('/v1/journeys', handoff(s, `upsell-${s}`));
      expect(accepted.status, JSON.stringify(accepted.body)).toBe(201);
    });

    it('refuses publishing a saved draft whose enroll target was archived since, and publishes nothing', async () => {
      const s = uniqueSuffix();
      const upsell = journey(`upsell-${s}`, [{ id: 'offer', type: 'sendEmail', template: 'tips' }]);
      expect((await ws.api.post('/v1/journeys', upsell)).status).toBe(201);
      const definition = handoff(s, `upsell-${s}`);
      // Saved while the upsell journey runs: the reference is fine then.
      const saved = await ws.api.post('/v1/journeys?draft=true', definition);
      expect(saved.status, JSON.stringify(saved.body)).toBe(201);
      expect((await ws.api.post(`/v1/journeys/upsell-${s}/archive`, {})).status).toBe(200);

      const refused = await ws.api.post(`/v1/journeys/handoff-${s}/publish`, {});
      expect(refused.status, JSON.stringify(refused.body)).toBe(422);
      expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect((refused.body as ProblemBody).errors).toEqual([
        {
          pointer: '/steps/1/journey',
          code: 'archived-journey',
          detail: `Step \`upsell\` enrolls the contact in the journey \`upsell-${s}\`, which is archived: publish that journey again first, or pick another one.`,
        },
      ]);
      expect((await ws.api.get(`/v1/journeys/handoff-${s}`)).body).toMatchObject({
        status: 'draft',
        versions: [{ version: 1, publishedAt: null }],
      });

      // Once the upsell journey is published again, the same draft publishes.
      expect((await ws.api.post('/v1/journeys', upsell)).status).toBe(200);
      const published = await ws.api.post(`/v1/journeys/handoff-${s}/publish`, {});
      expect(published.status, JSON.stringify(published.body)).toBe(200);
      expect(published.body).toMatchObject({ status: 'active', version: 1 });
    });

    it('refuses publishing an enroll into a journey that is only a draft, but saves it as a draft', async () => {
      const s = uniqueSuffix();
      const upsell = journey(`upsell-${s}`, [{ id: 'offer', type: 'sendEmail', template: 'tips' }]);
      expect((await ws.api.post('/v1/journeys?draft=true', upsell)).status).toBe(201);
      const definition = handoff(s, `upsell-${s}`);
      const unpublished = [
        {
          pointer: '/steps/1/journey',
          code: 'unpublished-journey',
          detail: `Step \`upsell\` enrolls the contact in the journey \`upsell-${s}\`, which is only a draft so far: publish that journey first, or pick another one.`,
        },
      ];

      const refused = await ws.api.post('/v1/journeys', definition);
      expect(refused.status).toBe(422);
      expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect((refused.body as ProblemBody).errors).toEqual(unpublished);
      expect((await ws.api.get(`/v1/journeys/handoff-${s}`)).status).toBe(404);

      // Two journeys built together: the draft that names the other draft is saved.
      const saved = await ws.api.post('/v1/journeys?draft=true', definition);
      expect(saved.status, JSON.stringify(saved.body)).toBe(201);
      const early = await ws.api.post(`/v1/journeys/handoff-${s}/publish`, {});
      expect(early.status).toBe(422);
      expect((early.body as ProblemBody).errors).toEqual(unpublished);

      expect((await ws.api.post(`/v1/journeys/upsell-${s}/publish`, {})).status).toBe(200);
      const published = await ws.api.post(`/v1/journeys/handoff-${s}/publish`, {});
      expect(published.status, JSON.stringify(published.body)).toBe(200);
      expect(published.body).toMatchObject({ status: 'active', version: 1 });
    });

    it('drumbeat deploy refuses the whole folder for one missing journey, and accepts journeys that name each other', async (ctx) => {
      // The CLI opens the database itself; the embedded one belongs to the engine's process.
      if (variant !== 'postgres') return ctx.skip();
      const s = uniqueSuffix();
      const dataDir = await mkdtemp(join(tmpdir(), 'drumbeat-deploy-'));
      const folder = (name: string) => join(dataDir, name);
      const deploy = async (dir: string) =>
        run(
          process.execPath,
          ['--import', 'tsx', 'bin/drumbeat.ts', 'deploy', dir, '--workspace', ws.id],
          {
            env: {
              ...process.env,
              DATA_DIR: dataDir,
              DATABASE_URL: inject('postgresUrl') ?? '',
              TEMPORAL_ADDRESS: inject('temporalAddress'),
            },
          },
        ).then(
          ({ stdout }) => ({ code: 0, stdout }),
          (error: { code?: number; stdout?: string }) => ({
            code: error.code ?? -1,
            stdout: error.stdout ?? '',
          }),
        );
      try {
        // A trial journey hands over to an onboarding one that does not exist anywhere.
        for (const name of ['broken', 'pair']) await mkdir(folder(name));
        await writeFile(
          join(folder('broken'), 'a-nurture.json'),
          JSON.stringify(
            journey(`nurture-${s}`, [{ id: 'hello', type: 'sendEmail', template: 'welcome' }]),
          ),
        );
        await writeFile(
          join(folder('broken'), 'b-trial.json'),
          JSON.stringify(
            journey(`trial-${s}`, [{ id: 'next', type: 'enroll', journey: `onboard-${s}` }]),
          ),
        );
        const refused = await deploy(folder('broken'));
        expect(refused.code, refused.stdout).toBe(1);
        expect(refused.stdout).toContain(
          `/steps/0/journey  Step \`next\` enrolls the contact in the journey \`onboard-${s}\`, which does not exist in this workspace.  [unknown-journey]`,
        );
        expect(refused.stdout).toContain('nothing was published');
        expect((await ws.api.get(`/v1/journeys/nurture-${s}`)).status).toBe(404);

        // Two new journeys that enroll into each other: both exist once the deploy is done.
        await writeFile(
          join(folder('pair'), 'a-ping.json'),
          JSON.stringify(
            journey(`ping-${s}`, [{ id: 'go', type: 'enroll', journey: `pong-${s}` }]),
          ),
        );
        await writeFile(
          join(folder('pair'), 'b-pong.json'),
          JSON.stringify(
            journey(`pong-${s}`, [{ id: 'go', type: 'enroll', journey: `ping-${s}` }]),
          ),
        );
        const deployed = await deploy(folder('pair'));
        expect(deployed.code, deployed.stdout).toBe(0);
        expect(deployed.stdout).toContain('2 published');
        for (const key of [`ping-${s}`, `pong-${s}`])
          expect((await ws.api.get(`/v1/journeys/${key}`)).body).toMatchObject({
            status: 'active',
          });
      } finally {
        await rm(dataDir, { recursive: true, force: true });
      }
    });
  },
);
