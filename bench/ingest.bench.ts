import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { loadConfig } from '../config/index.js';
import { scoreLags, settleScores } from '../engine/index.js';
import { startEngine } from '../runtime/engine.js';
import { freePort, startTemporalDevServer } from '../runtime/index.js';
import { newId } from '../store/index.js';
import { formatCpu, timedPhase } from './cpu-split.js';
import { alternateRounds, ms, percentile, ratio, roundsRatio } from './stats.js';
import { jsonPoster } from './support.js';

const CLIENTS = Number(process.env.BENCH_INGEST_CLIENTS ?? 4);
const BATCHES = Number(process.env.BENCH_INGEST_BATCHES ?? 40); // per client
const PER_BATCH = 100;
const USERS = Number(process.env.BENCH_INGEST_USERS ?? 500);
const ROUNDS = Number(process.env.BENCH_INGEST_ROUNDS ?? 3);
/** Diagnostic: `BENCH_INGEST_MODEL=0` publishes no scoring model, so nothing is scored. */
const WITH_MODEL = process.env.BENCH_INGEST_MODEL !== '0';
const ADMIN_URL =
  process.env.TEST_POSTGRES_ADMIN_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

/**
 * Ingestion throughput on PostgreSQL: Segment `batch` requests of 100 events from several
 * concurrent clients, scored under the default model (examples/default-scoring-model.json),
 * against raw multi-row INSERTs of the same rows through `pg` into the same table, same run,
 * in rounds that alternate which side goes first (both warmed first). The API's rate counts
 * until every event's score is readable (the background scorer has caught up). Also:
 * acceptance-to-score-readable times, request latency, and how long background routing of the
 * same events takes to drain.
 */
export async function runIngestBench(): Promise<void> {
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  const dbName = `drumbeat_bench_${process.pid}_${Date.now()}`;
  await admin.query(`CREATE DATABASE "${dbName}"`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${dbName}`;
  const dir = await mkdtemp(join(tmpdir(), 'drumbeat-bench-ingest-'));
  const server = await startTemporalDevServer({
    port: await freePort(),
    uiPort: null,
    dbFile: null,
  });
  const engine = await startEngine(
    loadConfig({
      PORT: '0',
      SMTP_SINK_PORT: '0',
      DATA_DIR: dir,
      DATABASE_URL: url.toString(),
      TEMPORAL_ADDRESS: server.address,
      TEMPORAL_TASK_QUEUE: 'bench-ingest',
      LOG_LEVEL: 'warn',
    }),
    { roles: { api: true, worker: false } },
  );
  const pool = new pg.Pool({ connectionString: url.toString(), max: CLIENTS });
  try {
    const api = engine.apiUrl ?? '';
    const headers = { 'content-type': 'application/json', ...engine.apiHeaders };
    if (WITH_MODEL) {
      const model = JSON.parse(
        await readFile('examples/default-scoring-model.json', 'utf8'),
      ) as unknown;
      const published = await fetch(`${api}/v1/scoring-models`, {
        method: 'POST',
        headers,
        body: JSON.stringify(model),
      });
      if (!published.ok)
        throw new Error(`publishing the model: ${published.status} ${await published.text()}`);
    }
    const userIds = Array.from({ length: USERS }, (_, i) => `bench-${i}`);

    const send = jsonPoster(api, engine.apiHeaders, CLIENTS);
    const post = async (body: unknown): Promise<number> => {
      const start = performance.now();
      const res = await send('/v1/batch', body);
      if (res.status !== 200) throw new Error(`batch answered ${res.status}: ${res.text}`);
      return performance.now() - start;
    };
    // Warm-up: contacts exist, connections and caches are hot.
    await post({ batch: userIds.slice(0, 100).map((u) => trackMessage(u)) });
    await Promise.all(
      Array.from({ length: Math.ceil(USERS / 100) }, (_, i) =>
        post({ batch: userIds.slice(i * 100, i * 100 + 100).map((u) => trackMessage(u)) }),
      ),
    );

    const latencies: number[] = [];
    // This process is the API and its clients in the API phases, the pg client in the raw ones.
    const named = { [process.pid]: 'this process' };
    const total = CLIENTS * BATCHES * PER_BATCH;
    const cpu = { api: new Map<string, number>(), raw: new Map<string, number>() };
    const phase = (into: Map<string, number>, work: () => Promise<void>) =>
      timedPhase(into, total, work, named);
    let lags: number[] = [];
    let routeSeconds = 0;
    const apiPhase = async () => {
      const rate = await phase(cpu.api, async () => {
        await Promise.all(
          Array.from({ length: CLIENTS }, async (_, c) => {
            for (let b = 0; b < BATCHES; b++) {
              const batch = Array.from({ length: PER_BATCH }, (_, i) =>
                trackMessage(userIds[(c * 7919 + b * PER_BATCH + i) % USERS] ?? 'bench-0'),
              );
              latencies.push(await post({ batch }));
            }
          }),
        );
        // Scores are written by the background scorer: the phase ends when all are readable.
        await settleScores(engine.deps);
      });
      lags = [...lags, ...scoreLags().slice(-total)];
      const routeStart = performance.now();
      for (;;) {
        const { rows } = await pool.query<{ n: string }>(
          // The raw rows are never routed; only the API's count.
          "SELECT count(*) AS n FROM events WHERE routed_at IS NULL AND user_id LIKE 'bench-%'",
        );
        if (Number(rows[0]?.n ?? 0) === 0) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      routeSeconds = Math.max(routeSeconds, (performance.now() - routeStart) / 1000);
      return rate;
    };

    const contacts = (
      await pool.query<{ id: string }>('SELECT id FROM contacts WHERE user_id LIKE $1', ['bench-%'])
    ).rows.map((r) => r.id);
    // The rows the API stores for these events: routed at once (no journey listens to them).
    // An unrouted row would make the API route every later event of its contact.
    const rawPhase = () =>
      phase(cpu.raw, async () => {
        await Promise.all(
          Array.from({ length: CLIENTS }, async (_, c) => {
            for (let b = 0; b < BATCHES; b++) {
              const values: unknown[] = [];
              const tuples: string[] = [];
              for (let i = 0; i < PER_BATCH; i++) {
                const m = trackMessage(`raw-${c}`);
                const p = values.length;
                tuples.push(
                  `($${p + 1}, 'default', $${p + 2}, 'track', $${p + 3}, $${p + 4}, $${p + 5}, NULL, $${p + 6}::jsonb, $${p + 7}, now(), now())`,
                );
                values.push(
                  newId(),
                  m.messageId,
                  m.event,
                  contacts[i % contacts.length] ?? null,
                  m.userId,
                  JSON.stringify(m.properties),
                  m.timestamp,
                );
              }
              await pool.query(
                `INSERT INTO events (id, workspace_id, message_id, type, name, contact_id, user_id, anonymous_id, properties, timestamp, received_at, routed_at) VALUES ${tuples.join(', ')}`,
                values,
              );
            }
          }),
        );
      });
    // Both sides are warmed with a whole unmeasured phase before rounds that alternate: with only
    // the few batches above, the API's first round ran well below its later ones (0.33-0.36x
    // against 0.40-0.47x in the same runs) while the raw side had had a full phase.
    await apiPhase();
    await rawPhase();
    cpu.api.clear();
    cpu.raw.clear();
    latencies.length = 0;
    lags = [];
    routeSeconds = 0;
    const rounds = await alternateRounds(ROUNDS, apiPhase, rawPhase);

    console.log(
      `\nIngestion through batch (PostgreSQL; ${ROUNDS} rounds of ${CLIENTS} clients x ${BATCHES} batches x ${PER_BATCH} events each side, ${USERS} contacts, ${WITH_MODEL ? 'default scoring model' : 'DIAGNOSTIC, no scoring model'})`,
    );
    rounds.forEach((r, i) =>
      console.log(
        `  round ${i + 1}: batch API, scored ${r.api.toFixed(0)} events/s (until every score is readable); raw multi-row INSERT ${r.raw.toFixed(0)} events/s (same rows, pg driver, same table) = ${ratio(r.api, r.raw)}`,
      ),
    );
    console.log(`  ratio API/raw            ${roundsRatio(rounds)}   (target >= 0.50x, median)`);
    console.log(`  CPU per batch API phase: ${formatCpu(cpu.api, ROUNDS)}`);
    console.log(`  CPU per raw INSERT phase: ${formatCpu(cpu.raw, ROUNDS)}`);
    console.log(
      `  acceptance -> score readable   p50 ${ms(percentile(lags, 50))}   p99 ${ms(percentile(lags, 99))}   (background scorer, ${lags.length} events)`,
    );
    console.log(
      `  batch request              p50 ${ms(percentile(latencies, 50))}   p99 ${ms(percentile(latencies, 99))}`,
    );
    console.log(
      `  background routing drained at most ${routeSeconds.toFixed(1)} s after a phase's scores were readable`,
    );
  } finally {
    await pool.end();
    await engine.stop();
    await server.stop();
    await admin.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
    await admin.end();
    await rm(dir, { recursive: true, force: true });
  }
}

const EVENTS = [
  { event: 'email.opened', properties: {} },
  { event: 'email.clicked', properties: { url: 'https://example.com' } },
  { event: 'page_viewed', properties: { path: '/pricing' } },
  { event: 'page_viewed', properties: { path: '/blog/post' } },
  { event: 'ebook_downloaded', properties: { title: 'Guide' } },
];

function trackMessage(userId: string) {
  const pick = EVENTS[Math.floor(Math.random() * EVENTS.length)] ?? EVENTS[0];
  return {
    type: 'track',
    userId,
    event: pick?.event ?? 'email.opened',
    properties: pick?.properties ?? {},
    messageId: randomUUID(),
    timestamp: new Date(Date.now() - Math.floor(Math.random() * 86_400_000)).toISOString(),
  };
}
