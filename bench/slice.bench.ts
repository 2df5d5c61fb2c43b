import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { loadConfig } from '../config/index.js';
import { startEngine } from '../runtime/engine.js';
import { freePort, startTemporalDevServer } from '../runtime/index.js';
import { echoWorkflow } from '../workflows/index.js';
import { ms, percentile, ratio } from './stats.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 30);

/**
 * The foundation slice's end-to-end latency (a `track` call sent to the API until its email
 * arrives at the SMTP sink) beside the raw Temporal round trip (start an empty workflow and
 * await its result), measured on the same dev server in the same run.
 */
export async function runSliceBench(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'drumbeat-bench-'));
  const server = await startTemporalDevServer({
    port: await freePort(),
    uiPort: null,
    dbFile: null,
  });
  const arrivals = new Map<string, (at: number) => void>();
  const engine = await startEngine(
    loadConfig({
      PORT: '0',
      SMTP_SINK_PORT: '0',
      DATA_DIR: dir,
      TEMPORAL_ADDRESS: server.address,
      TEMPORAL_TASK_QUEUE: 'bench',
    }),
    { onCapturedMail: (mail) => mail.to.forEach((to) => arrivals.get(to)?.(performance.now())) },
  );
  try {
    const api = engine.apiUrl ?? '';
    await post(
      `${api}/v1/journeys`,
      {
        id: 'bench-slice',
        name: 'Bench slice',
        triggers: [{ type: 'event', event: 'bench_signed_up' }],
        steps: [{ id: 'welcome', type: 'sendEmail', template: 'welcome' }],
      },
      engine.apiHeaders,
    );

    const slice: number[] = [];
    for (let i = 0; i < ROUNDS + 3; i++) {
      const userId = `bench-${randomUUID()}`;
      const email = `${userId}@example.com`;
      await post(
        `${api}/v1/identify`,
        { userId, traits: { email, firstName: 'Bench' } },
        engine.apiHeaders,
      );
      const arrived = new Promise<number>((resolve) => arrivals.set(email, resolve));
      const start = performance.now();
      await post(`${api}/v1/track`, { userId, event: 'bench_signed_up' }, engine.apiHeaders);
      const end = await arrived;
      if (i >= 3) slice.push(end - start); // the first rounds warm caches and connections
    }

    const raw: number[] = [];
    for (let i = 0; i < ROUNDS + 3; i++) {
      const start = performance.now();
      await engine.deps.temporal.workflow.execute(echoWorkflow, {
        taskQueue: 'bench',
        workflowId: `echo-${randomUUID()}`,
        args: ['x'],
      });
      if (i >= 3) raw.push(performance.now() - start);
    }

    const [s50, r50, s99, r99] = [
      percentile(slice, 50),
      percentile(raw, 50),
      percentile(slice, 99),
      percentile(raw, 99),
    ];
    console.log(
      `\nFoundation slice: event accepted -> email at the SMTP sink (${ROUNDS} rounds, embedded database)`,
    );
    console.log(`  slice end-to-end         p50 ${ms(s50)}   p99 ${ms(s99)}`);
    console.log(
      `  raw Temporal round trip  p50 ${ms(r50)}   p99 ${ms(r99)}   (start empty workflow + await result)`,
    );
    console.log(`  ratio slice/raw          p50 ${ratio(s50, r50)}   p99 ${ratio(s99, r99)}`);
  } finally {
    await engine.stop();
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

async function post(
  url: string,
  body: unknown,
  auth: Readonly<Record<string, string>>,
): Promise<void> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${url} answered ${res.status}: ${await res.text()}`);
}
