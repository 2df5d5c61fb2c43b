/**
 * Records workflow histories of representative journeys into tests/fixtures/histories/, for
 * the replay test that proves new workflow code still replays what running enrollments did.
 * Run after a deliberate, patched() change to the workflow: `npx tsx scripts/record-histories.ts`.
 * Recorded files are never rewritten in place: a new file per recording date keeps old
 * histories replaying too.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { loadConfig } from '../config/index.js';
import { startEngine } from '../runtime/engine.js';
import { findTemporalCli, freePort, startTemporalDevServer } from '../runtime/index.js';

const OUT = new URL('../tests/fixtures/histories/', import.meta.url).pathname;
const STAMP = new Date().toISOString().slice(0, 10);

const scenarios: {
  name: string;
  journey: Record<string, unknown>;
  events: (user: string) => [string, number][];
}[] = [
  {
    name: 'welcome-series',
    journey: {
      id: 'rec-welcome',
      name: 'Welcome',
      triggers: [{ type: 'event', event: 'rec_signed_up' }],
      steps: [
        { id: 'welcome', type: 'sendEmail', template: 'welcome' },
        { id: 'pause', type: 'wait', duration: 'PT1S' },
        { id: 'tips', type: 'sendEmail', template: 'tips' },
      ],
    },
    events: () => [['rec_signed_up', 0]],
  },
  {
    name: 'wait-for-event-and-goal',
    journey: {
      id: 'rec-demo',
      name: 'Demo',
      triggers: [{ type: 'event', event: 'rec_invited' }],
      goals: [{ id: 'bought', type: 'event', event: 'rec_purchased' }],
      steps: [
        { id: 'invite', type: 'sendEmail', template: 'welcome' },
        {
          id: 'wait-booking',
          type: 'waitForEvent',
          event: 'rec_booked',
          timeout: 'PT30S',
          onTimeout: 'done',
        },
        {
          id: 'by-plan',
          type: 'branch',
          cases: [
            {
              name: 'pro',
              condition: { type: 'equals', field: 'contact.plan', value: 'pro' },
              next: 'pro',
            },
          ],
          else: 'wait-more',
        },
        { id: 'pro', type: 'sendEmail', template: 'tips', subject: 'Pro' },
        { id: 'wait-more', type: 'wait', duration: 'P1D' },
        { id: 'done', type: 'exit' },
      ],
    },
    events: () => [
      ['rec_invited', 0],
      ['rec_booked', 700],
      ['rec_purchased', 1500],
    ],
  },
];

const dir = await mkdtemp(join(tmpdir(), 'drumbeat-record-'));
const server = await startTemporalDevServer({ port: await freePort(), uiPort: null, dbFile: null });
const engine = await startEngine(
  loadConfig({ PORT: '0', SMTP_SINK_PORT: '0', DATA_DIR: dir, TEMPORAL_ADDRESS: server.address }),
);
try {
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${engine.apiUrl ?? ''}${path}`, {
      method: 'POST',
      headers: { ...engine.apiHeaders, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as { routing?: { enrollments: { enrollmentId: string | null }[] } };
  };
  for (const scenario of scenarios) {
    await post('/v1/journeys', scenario.journey);
    const user = `rec-${scenario.name}`;
    await post('/v1/identify', {
      userId: user,
      traits: { email: `${user}@example.com`, firstName: 'Rec', plan: 'basic' },
    });
    let enrollmentId = '';
    let elapsed = 0;
    for (const [event, at] of scenario.events(user)) {
      await new Promise((resolve) => setTimeout(resolve, at - elapsed));
      elapsed = at;
      const result = await post('/v1/track', { userId: user, event });
      enrollmentId ||= result.routing?.enrollments[0]?.enrollmentId ?? '';
    }
    await engine.deps.temporal.workflow.getHandle(enrollmentId).result();
    const file = join(OUT, `${scenario.name}.${STAMP}.json`);
    // The CLI writes the standard JSON history format (the SDK's own converter trips over a
    // duplicated protobufjs in node_modules).
    const { stdout } = await promisify(execFile)(
      findTemporalCli(),
      [
        'workflow',
        'show',
        '--workflow-id',
        enrollmentId,
        '--address',
        server.address,
        '--output',
        'json',
      ],
      { maxBuffer: 64 << 20 },
    );
    await writeFile(file, stdout);
    console.log(`recorded ${file}`);
  }
} finally {
  await engine.stop();
  await server.stop();
  await rm(dir, { recursive: true, force: true });
}
