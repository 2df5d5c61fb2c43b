import { scratchDatabase } from './support.js';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { loadConfig } from '../config/index.js';
import { startEngine } from '../runtime/engine.js';
import { freePort, startTemporalDevServer } from '../runtime/index.js';
import { ms, ratio } from './stats.js';

const SECONDS = Number(process.env.LOAD_SECONDS ?? 30);
const CONNECTIONS = Number(process.env.LOAD_CONNECTIONS ?? 8);

/**
 * A bounded load test of the running API on loopback: autocannon mixes ingestion (`track` for a
 * pool of contacts), reads (a journey with its enrollment counts) and enrollment starts (a
 * `track` that triggers a journey for a new contact), 2:1:1, for LOAD_SECONDS. Afterwards the
 * counts must reconcile (every accepted event stored, every accepted signup enrolled) and the
 * process's memory is compared between the start and the end of the run. Baseline: `/healthz`
 * on the same server in the same run (HTTP and middleware without the database).
 */
export async function runLoadBench(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'drumbeat-load-'));
  const temporal = await startTemporalDevServer({
    port: await freePort(),
    uiPort: null,
    dbFile: null,
  });
  const postgres = await scratchDatabase('drumbeat_load');
  const engine = await startEngine(
    loadConfig({
      PORT: '0',
      SMTP_SINK_PORT: '0',
      DATA_DIR: dir,
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_TASK_QUEUE: 'load',
      DATABASE_URL: postgres?.url ?? '',
      LOG_LEVEL: 'warn',
    }),
  );
  try {
    const url = engine.apiUrl ?? '';
    const headers = { ...engine.apiHeaders, 'content-type': 'application/json' };
    const run = randomUUID().slice(0, 8);
    const journey = `load-${run}`;
    const published = await fetch(`${url}/v1/journeys`, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        id: journey,
        name: 'Load test',
        triggers: [{ type: 'event', event: `load_signup_${run}` }],
        steps: [{ id: 'pause', type: 'wait', duration: 'P1D' }],
      }),
    });
    if (published.status !== 201) throw new Error(`publishing failed: ${await published.text()}`);

    const baseline = await autocannon({
      url: `${url}/healthz`,
      connections: CONNECTIONS,
      duration: 5,
    });

    const counts = { events: 0, signups: 0, reads: 0, limited: 0, errors: 0 };
    // Requests still in flight when autocannon stops are stored but never counted as answered.
    const sent = { events: 0, signups: 0 };
    const tally = (kind: 'events' | 'signups' | 'reads') => (status: number) => {
      if (status >= 200 && status < 300) counts[kind]++;
      else if (status === 429) counts.limited++;
      else counts.errors++;
    };
    const memory: { rss: number; heap: number }[] = [];
    const sampler = setInterval(() => {
      const m = process.memoryUsage();
      memory.push({ rss: m.rss, heap: m.heapUsed });
    }, 500);
    let n = 0;
    const mixed = await autocannon({
      url,
      connections: CONNECTIONS,
      duration: SECONDS,
      headers,
      requests: [
        {
          method: 'POST',
          path: '/v1/track',
          setupRequest: (req) => ({
            ...req,
            body: JSON.stringify({
              _: sent.events++,
              userId: `load-${run}-${n++ % 1000}`,
              event: `load_view_${run}`,
              messageId: randomUUID(),
              properties: { page: '/pricing' },
            }),
          }),
          onResponse: tally('events'),
        },
        {
          method: 'GET',
          path: `/v1/journeys/${journey}`,
          onResponse: tally('reads'),
        },
        {
          method: 'POST',
          path: '/v1/track',
          setupRequest: (req) => ({
            ...req,
            body: JSON.stringify({
              _: sent.signups++,
              userId: `signup-${run}-${randomUUID()}`,
              event: `load_signup_${run}`,
              messageId: randomUUID(),
            }),
          }),
          onResponse: tally('signups'),
        },
        {
          method: 'POST',
          path: '/v1/track',
          setupRequest: (req) => ({
            ...req,
            body: JSON.stringify({
              _: sent.events++,
              userId: `load-${run}-${n++ % 1000}`,
              event: `load_view_${run}`,
              messageId: randomUUID(),
            }),
          }),
          onResponse: tally('events'),
        },
      ],
    });
    clearInterval(sampler);

    // Let requests that were in flight when autocannon stopped finish before counting.
    await new Promise((r) => setTimeout(r, 3_000));
    const prisma = engine.deps.prisma;
    const storedViews = await prisma.event.count({ where: { name: `load_view_${run}` } });
    const storedSignups = await prisma.event.count({ where: { name: `load_signup_${run}` } });
    const deadline = Date.now() + 60_000;
    let enrolled = 0;
    for (;;) {
      enrolled = await prisma.enrollment.count({
        where: { journeyVersion: { journey: { key: journey } } },
      });
      if (enrolled >= storedSignups || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 500));
    }

    const fifth = Math.max(1, Math.floor(memory.length / 5));
    const avg = (xs: readonly { heap: number; rss: number }[], k: 'heap' | 'rss') =>
      xs.reduce((s, x) => s + x[k], 0) / Math.max(1, xs.length) / 1024 / 1024;
    const firstFifth = memory.slice(0, fifth);
    const lastFifth = memory.slice(-fifth);
    const total = mixed.requests.total;
    console.log(
      `\nLoad test: ${SECONDS}s, ${CONNECTIONS} connections, ${postgres ? 'PostgreSQL' : 'embedded database'}, mix track:read:signup = 2:1:1`,
    );
    console.log(
      `  mixed API        ${(total / SECONDS).toFixed(0)} req/s   p50 ${ms(mixed.latency.p50)}   p99 ${ms(mixed.latency.p99)}   (${total} requests)`,
    );
    console.log(
      `  /healthz         ${baseline.requests.average.toFixed(0)} req/s   p50 ${ms(baseline.latency.p50)}   p99 ${ms(baseline.latency.p99)}   (baseline: HTTP + middleware, no database)`,
    );
    console.log(
      `  mixed / baseline throughput ${ratio(total / SECONDS, baseline.requests.average)}`,
    );
    console.log(
      `  answers: ${counts.events} events + ${counts.signups} signups accepted, ${counts.reads} reads, ${counts.limited} rate-limited (429), ${counts.errors} other errors`,
    );
    // Nothing accepted may be lost (stored >= accepted); nothing may appear from nowhere
    // (stored <= sent); every stored signup must be enrolled.
    const within = (stored: number, accepted: number, sentCount: number) =>
      stored >= accepted && stored <= sentCount ? 'OK' : 'MISMATCH';
    console.log(
      `  reconcile: events accepted ${counts.events} <= stored ${storedViews} <= sent ${sent.events} ${within(storedViews, counts.events, sent.events)}; signups accepted ${counts.signups} <= stored ${storedSignups} <= sent ${sent.signups} ${within(storedSignups, counts.signups, sent.signups)}; enrolled ${enrolled}/${storedSignups} ${enrolled === storedSignups ? 'OK' : 'MISMATCH'}`,
    );
    console.log(
      `  memory (whole process): heap ${avg(firstFifth, 'heap').toFixed(0)} MB in the first fifth -> ${avg(lastFifth, 'heap').toFixed(0)} MB in the last; rss ${avg(firstFifth, 'rss').toFixed(0)} -> ${avg(lastFifth, 'rss').toFixed(0)} MB`,
    );
    // Memory over time (one sample every 500 ms): stable means flat after warm-up, not growing.
    const perMinute = memory.filter((_, i) => i > 0 && i % 120 === 0);
    if (perMinute.length > 0)
      console.log(
        `  memory each minute: ${perMinute.map((m, i) => `${i + 1} min heap ${(m.heap / 1048576).toFixed(0)} / rss ${(m.rss / 1048576).toFixed(0)} MB`).join('; ')}`,
      );
  } finally {
    await engine.stop();
    await temporal.stop();
    await postgres?.drop();
    await rm(dir, { recursive: true, force: true });
  }
}
