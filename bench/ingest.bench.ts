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
import { cpuSince, readCpu } from './cpu-split.js';
import { ms, percentile, ratio } from './stats.js';

const CLIENTS = Number(process.env.BENCH_INGEST_CLIENTS ?? 4);
const BATCHES = Number(process.env.BENCH_INGEST_BATCHES ?? 40); // per client
const PER_BATCH = 100;
const USERS = Number(process.env.BENCH_INGEST_USERS ?? 500);
const ADMIN_URL =
  process.env.TEST_POSTGRES_ADMIN_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

/**
 * Ingestion throughput on PostgreSQL: Segment `batch` requests of 100 events from several
 * concurrent clients, scored under the default model (examples/default-scoring-model.json),
 * against raw multi-row INSERTs of the same rows through `pg` into the same table, same run.
 * The API's rate counts until every event's score is readable (the background scorer has
 * caught up). Also: acceptance-to-score-readable times, request latency, and how long
 * background routing of the same events takes to drain.
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
    const userIds = Array.from({ length: USERS }, (_, i) => `bench-${i}`);

    const post = async (body: unknown): Promise<number> => {
      const start = performance.now();
      const res = await fetch(`${api}/v1/batch`, {
        method: 'POST',
        headers,
        body: JSON.stringify(body),
      });
      if (res.status !== 200) throw new Error(`batch answered ${res.status}: ${await res.text()}`);
      await res.arrayBuffer();
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
    // This process is the API and its clients in the first phase, the pg client in the second.
    const named = { [process.pid]: 'this process' };
    let cpu = readCpu(named);
    const apiStart = performance.now();
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
    const acceptSeconds = (performance.now() - apiStart) / 1000;
    // Scores are written by the background scorer: the run ends when all of them are readable.
    await settleScores(engine.deps);
    const apiSeconds = (performance.now() - apiStart) / 1000;
    const apiCpu = cpuSince(cpu, named);
    const total = CLIENTS * BATCHES * PER_BATCH;
    const lags = scoreLags().slice(-total);

    const routeStart = performance.now();
    for (;;) {
      const { rows } = await pool.query<{ n: string }>(
        'SELECT count(*) AS n FROM events WHERE routed_at IS NULL',
      );
      if (Number(rows[0]?.n ?? 0) === 0) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const routeSeconds = (performance.now() - routeStart) / 1000;

    const contacts = (
      await pool.query<{ id: string }>('SELECT id FROM contacts WHERE user_id LIKE $1', ['bench-%'])
    ).rows.map((r) => r.id);
    cpu = readCpu(named);
    const rawStart = performance.now();
    await Promise.all(
      Array.from({ length: CLIENTS }, async (_, c) => {
        for (let b = 0; b < BATCHES; b++) {
          const values: unknown[] = [];
          const tuples: string[] = [];
          for (let i = 0; i < PER_BATCH; i++) {
            const m = trackMessage(`raw-${c}`);
            const p = values.length;
            tuples.push(
              `($${p + 1}, 'default', $${p + 2}, 'track', $${p + 3}, $${p + 4}, $${p + 5}, NULL, $${p + 6}::jsonb, $${p + 7}, now())`,
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
            `INSERT INTO events (id, workspace_id, message_id, type, name, contact_id, user_id, anonymous_id, properties, timestamp, received_at) VALUES ${tuples.join(', ')}`,
            values,
          );
        }
      }),
    );
    const rawSeconds = (performance.now() - rawStart) / 1000;
    const rawCpu = cpuSince(cpu, named);
    const apiRate = total / apiSeconds;
    const rawRate = total / rawSeconds;

    console.log(
      `\nIngestion through batch (PostgreSQL; ${CLIENTS} clients x ${BATCHES} batches x ${PER_BATCH} events, ${USERS} contacts, default scoring model)`,
    );
    console.log(
      `  batch API, scored        ${apiRate.toFixed(0)} events/s   (all ${total} scored ${apiSeconds.toFixed(2)} s after the first request; answered by ${acceptSeconds.toFixed(2)} s)`,
    );
    console.log(
      `  raw multi-row INSERT     ${rawRate.toFixed(0)} events/s   (same rows, pg driver, same table)`,
    );
    console.log(`  ratio API/raw            ${ratio(apiRate, rawRate)}   (target >= 0.50x)`);
    console.log(`  CPU, batch API: ${apiCpu}`);
    console.log(`  CPU, raw INSERT: ${rawCpu}`);
    console.log(
      `  acceptance -> score readable   p50 ${ms(percentile(lags, 50))}   p99 ${ms(percentile(lags, 99))}   (background scorer, ${lags.length} events)`,
    );
    console.log(
      `  batch request              p50 ${ms(percentile(latencies, 50))}   p99 ${ms(percentile(latencies, 99))}`,
    );
    console.log(
      `  background routing drained ${routeSeconds.toFixed(1)} s after the last batch was answered`,
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
