import { jsonPoster, pool, startEnvelopeSink } from './support.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { loadConfig } from '../config/index.js';
import { startEngine, type RunningEngine } from '../runtime/engine.js';
import { freePort, startTemporalDevServer } from '../runtime/index.js';
import { awaitSignalWorkflow, echoWorkflow, pokeSignal } from '../workflows/index.js';
import { addCpuSince, formatCpu, readCpu, timedPhase } from './cpu-split.js';
import { alternateRounds, ms, percentile, ratio, roundsRatio } from './stats.js';

const ENROLLMENTS = Number(process.env.BENCH_ENROLLMENTS ?? 300);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const ENROLL_ROUNDS = Number(process.env.BENCH_ENROLL_ROUNDS ?? 3);
/** Enrollments and raw starts made before the measured rounds. */
const WARMUP = Number(process.env.BENCH_ENROLL_WARMUP ?? 100);
const REACTIONS = Number(process.env.BENCH_REACTIONS ?? 200);
const WAITING = Number(process.env.BENCH_WAITING ?? 3000);
/**
 * A diagnostic, not the target's measure: the worker is stopped (SIGSTOP) while either side
 * starts its workflows and continued after, so each side is timed without its workflows running
 * beside it on the same cores. The journeys and empty workflows then run in the drain.
 */
const PAUSE_WORKER = process.env.BENCH_PAUSE_WORKER === '1';
/** Node flags for the worker processes (a diagnostic: `--cpu-prof --cpu-prof-dir=DIR`). */
const CHILD_NODE_ARGS = (process.env.BENCH_CHILD_NODE_ARGS ?? '').split(' ').filter(Boolean);
/**
 * A diagnostic: a CPU profile of this process (the API and its HTTP clients) over the enrolling
 * phases only, one file a phase: `<this path>.<n>.cpuprofile` (Chrome DevTools, speedscope).
 */
const PROFILE_API = process.env.BENCH_PROFILE_API ?? null;
const ADMIN_URL =
  process.env.BENCH_POSTGRES_ADMIN_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

/**
 * Journey execution on Temporal, each figure beside a raw Temporal baseline from the same run:
 * enrollment throughput through the API vs `workflow.start` of an empty workflow; reaction
 * latency (event accepted -> next action done) vs a raw signal round trip; and the worker's
 * resident memory while many enrollments sleep (it should follow the cache, not the count).
 * The worker runs as its own process (`drumbeat worker`) on PostgreSQL, as in production.
 */
export async function runExecutionBench(): Promise<void> {
  const dbName = `drumbeat_bench_${Date.now()}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${dbName}"`);
  const dbUrl = new URL(ADMIN_URL);
  dbUrl.pathname = `/${dbName}`;
  const dir = await mkdtemp(join(tmpdir(), 'drumbeat-bench-exec-'));
  const server = await startTemporalDevServer({
    port: await freePort(),
    uiPort: null,
    // On disk: in memory, the dev server held every history and reached 22 GB at 90,000
    // sleeping enrollments, then failed namespace lookups.
    dbFile: join(dir, 'temporal.db'),
  });
  const arrivals = new Map<string, (at: number) => void>();
  /** Emails of the one-email baseline that reached the sink. */
  let baselineMailed = 0;
  const sink = await startEnvelopeSink((to) =>
    to.forEach((address) => {
      if (address.startsWith('one-email-')) baselineMailed++;
      arrivals.get(address)?.(performance.now());
    }),
  );
  const env = {
    DATA_DIR: dir,
    DATABASE_URL: dbUrl.toString(),
    TEMPORAL_ADDRESS: server.address,
    TEMPORAL_TASK_QUEUE: 'bench-exec',
    SMTP_URL: sink.url,
    PORT: '0',
    // A JSON line per request on the terminal was a cost the raw side does not pay.
    LOG_LEVEL: 'warn',
  };
  let worker: ChildProcess | null = null;
  let emailWorker: ChildProcess | null = null;
  let api: RunningEngine | null = null;
  try {
    api = await startEngine(loadConfig(env), { roles: { api: true, worker: false } });
    worker = await startWorkerProcess(env);
    const engine = api;
    const send = jsonPoster(engine.apiUrl ?? '', engine.apiHeaders, CONCURRENCY);
    const post = async (path: string, body: unknown) => {
      const res = await send(path, body);
      if (res.status >= 300) throw new Error(`${path}: ${res.status} ${res.text}`);
    };
    const temporal = engine.deps.temporal;
    /** Enrollments of a bench journey, or only those with `status`. */
    const enrollmentsOf = async (key: string, status: string | null = null) =>
      Number(
        (
          await engine.deps.sql.query<{ n: string }>(
            `SELECT count(*) AS n FROM enrollments e JOIN journey_versions v ON v.id = e.journey_version_id
             JOIN journeys j ON j.id = v.journey_id
             WHERE j.key = $1 AND ($2::text IS NULL OR e.status = $2)`,
            [key, status],
          )
        )[0]?.n ?? 0,
      );

    // 1. Enrollment throughput.
    await post('/v1/journeys', {
      id: 'bench-enroll',
      name: 'Bench enroll',
      triggers: [{ type: 'event', event: 'bench_enroll' }],
      steps: [{ id: 'hello', type: 'sendEmail', template: 'welcome' }],
    });
    const named: Record<number, string> = {
      [process.pid]: 'API + clients',
      [worker.pid ?? 0]: 'worker',
    };
    const cpu = {
      api: new Map<string, number>(),
      raw: new Map<string, number>(),
      baseline: new Map<string, number>(),
    };
    /** CPU from the start of a phase until each of its workflows has finished (drain included). */
    const whole = { api: new Map<string, number>(), raw: new Map<string, number>() };
    /** Runs a side's phase with the worker stopped, under BENCH_PAUSE_WORKER=1. */
    const paused = async <T>(work: () => Promise<T>): Promise<T> => {
      if (!PAUSE_WORKER) return work();
      worker?.kill('SIGSTOP');
      try {
        return await work();
      } finally {
        worker?.kill('SIGCONT');
      }
    };
    let enrolled = 0;
    let drainSeconds = 0;
    let rawStarted = 0;
    let rawDrainSeconds = 0;
    const phase = (into: Map<string, number>, count: number, work: () => Promise<void>) =>
      timedPhase(into, count, work, named);
    let profiled = 0;
    const profiler = PROFILE_API ? new Session() : null;
    profiler?.connect();
    await profiler?.post('Profiler.enable');
    const enrollPhase = async (count = ENROLLMENTS) => {
      const users = Array.from({ length: count }, () => `u-${randomUUID()}`);
      await pool(users, CONCURRENCY, (u) =>
        post('/v1/identify', { userId: u, traits: { email: `${u}@example.com` } }),
      );
      const before = readCpu(named);
      await profiler?.post('Profiler.start');
      const rate = await paused(() =>
        phase(cpu.api, count, () =>
          pool(users, CONCURRENCY, (u) => post('/v1/track', { userId: u, event: 'bench_enroll' })),
        ),
      );
      if (profiler) {
        const { profile } = await profiler.post('Profiler.stop');
        await writeFile(`${PROFILE_API}.${++profiled}.cpuprofile`, JSON.stringify(profile));
      }
      enrolled += count;
      // Whatever runs next begins on an idle server: the journeys just enrolled (each sends its
      // email) would otherwise still be running and slow the raw starts down.
      drainSeconds += await finishing(
        'the enrolled journeys',
        async () => (await enrollmentsOf('bench-enroll', 'completed')) >= enrolled,
      );
      addCpuSince(whole.api, before, named);
      return rate;
    };
    const rawPhase = async (count = ENROLLMENTS) => {
      const before = readCpu(named);
      const ids = Array.from({ length: count }, () => `raw-${randomUUID()}`);
      const rate = await paused(() =>
        phase(cpu.raw, count, () =>
          pool(ids, CONCURRENCY, (workflowId) =>
            temporal.workflow.start(echoWorkflow, {
              taskQueue: 'bench-exec',
              workflowId,
              args: ['x'],
            }),
          ),
        ),
      );
      // Until the empty workflows have finished, asked the way the journeys are: a count every
      // 250 ms (visibility), not a result call per workflow, which would add its own server work.
      rawStarted += count;
      const finished = `WorkflowType = 'echoWorkflow' AND ExecutionStatus = 'Completed'`;
      rawDrainSeconds += await finishing(
        'the empty workflows',
        async () => (await temporal.workflow.count(finished)).count >= rawStarted,
      );
      addCpuSince(whole.raw, before, named);
      return rate;
    };
    // Warm-up, not measured: the first enrollments of a run pay for cold code paths, caches and
    // connections in the API, the worker and the server, which the raw side would not.
    await enrollPhase(WARMUP);
    await rawPhase(WARMUP);
    for (const into of [cpu.api, cpu.raw, whole.api, whole.raw]) into.clear();
    const rounds = await alternateRounds(ENROLL_ROUNDS, enrollPhase, rawPhase);
    console.log(
      `\nJourney execution on Temporal (worker process on PostgreSQL)${PAUSE_WORKER ? ': DIAGNOSTIC, worker stopped while either side starts its workflows' : ''}`,
    );
    console.log(
      `  enrollment throughput, ${ENROLL_ROUNDS} rounds of ${ENROLLMENTS} each side, ${CONCURRENCY} concurrent clients (raw starts on a drained server; after their phases, journeys finished in ${drainSeconds.toFixed(1)} s in all, empty workflows in ${rawDrainSeconds.toFixed(1)} s)`,
    );
    rounds.forEach((r, i) =>
      console.log(
        `  round ${i + 1}: enrollments through the API ${r.api.toFixed(0)}/s, raw workflow.start (empty) ${r.raw.toFixed(0)}/s = ${ratio(r.api, r.raw)}`,
      ),
    );
    console.log(
      `  ratio                         ${roundsRatio(rounds)}   (target >= 0.8x, median)`,
    );
    console.log(`  CPU per enrolling phase: ${formatCpu(cpu.api, ENROLL_ROUNDS)}`);
    console.log(`  CPU per raw phase: ${formatCpu(cpu.raw, ENROLL_ROUNDS)}`);
    // What running the workflows costs, the part the phases above see only while it overlaps.
    const perWorkflow = (side: Map<string, number>, name: string) =>
      `${(((side.get(name) ?? 0) / (ENROLL_ROUNDS * ENROLLMENTS)) * 1000).toFixed(1)} ms`;
    console.log(
      `  CPU per round until every workflow finished: enrolling ${formatCpu(whole.api, ENROLL_ROUNDS)}; raw ${formatCpu(whole.raw, ENROLL_ROUNDS)}`,
    );
    console.log(
      `  per workflow: one-email journey (enrolled through the API): worker ${perWorkflow(whole.api, 'worker')}, temporal ${perWorkflow(whole.api, 'temporal')}; empty workflow: worker ${perWorkflow(whole.raw, 'worker')}, temporal ${perWorkflow(whole.raw, 'temporal')}`,
    );

    // 1b. Not the target's measure: the same enrollments beside a workflow that does the work a
    // one-email journey exists for and nothing else (bench/one-email.workflow.ts), started raw
    // and run by a worker process of its own, so Drumbeat's own cost shows apart from what
    // sending an email through Temporal costs at all.
    if (!PAUSE_WORKER) {
      emailWorker = await startOneEmailWorker({ ...env, TASK_QUEUE: 'bench-one-email' });
      named[emailWorker.pid ?? 0] = 'one-email worker';
      let baselineStarted = 0;
      const baselinePhase = async (count = ENROLLMENTS) => {
        const ids = Array.from({ length: count }, () => `one-email-${randomUUID()}`);
        const rate = await phase(cpu.baseline, count, () =>
          pool(ids, CONCURRENCY, (workflowId) =>
            temporal.workflow.start('oneEmailWorkflow', {
              taskQueue: 'bench-one-email',
              workflowId,
              args: [`${workflowId}@example.com`],
            }),
          ),
        );
        baselineStarted += count;
        await finishing('the one-email workflows', () =>
          Promise.resolve(baselineMailed >= baselineStarted),
        );
        return rate;
      };
      await baselinePhase(WARMUP);
      const beside = await alternateRounds(ENROLL_ROUNDS, enrollPhase, baselinePhase);
      console.log(
        '  beside a hand-written one-email workflow started raw (a local activity sending through pooled Nodemailer to the same sink; no event, entry rules, send record or enrollment record):',
      );
      beside.forEach((r, i) =>
        console.log(
          `  round ${i + 1}: enrollments through the API ${r.api.toFixed(0)}/s, raw start of the one-email workflow ${r.raw.toFixed(0)}/s = ${ratio(r.api, r.raw)}`,
        ),
      );
      console.log(`  ratio                         ${roundsRatio(beside)}   (no target)`);
      // Both started raw, no Drumbeat code: how close to the empty workflow a journey that sends
      // its one email could come if enrolling and recording cost nothing.
      const oneEmail = percentile(
        beside.map((r) => r.raw),
        50,
      );
      const empty = percentile(
        rounds.map((r) => r.raw),
        50,
      );
      console.log(
        `  one-email workflow against the empty workflow, both started raw: median ${oneEmail.toFixed(0)}/s against ${empty.toFixed(0)}/s = ${ratio(oneEmail, empty)}`,
      );
      console.log(`  CPU per one-email phase: ${formatCpu(cpu.baseline, ENROLL_ROUNDS)}`);
    }

    // 2. Reaction latency.
    await post('/v1/journeys', {
      id: 'bench-react',
      name: 'Bench react',
      triggers: [{ type: 'event', event: 'bench_react_start' }],
      steps: [
        {
          id: 'wait-go',
          type: 'waitForEvent',
          event: 'bench_go',
          timeout: 'P1D',
          onTimeout: 'end',
        },
        { id: 'act', type: 'sendEmail', template: 'tips' },
        { id: 'end', type: 'exit' },
      ],
    });
    const reactors = Array.from({ length: REACTIONS + 3 }, () => `r-${randomUUID()}`);
    await pool(reactors, CONCURRENCY, async (u) => {
      await post('/v1/identify', { userId: u, traits: { email: `${u}@example.com` } });
      await post('/v1/track', { userId: u, event: 'bench_react_start' });
    });
    await new Promise((resolve) => setTimeout(resolve, 3000)); // all of them settle into their wait
    const reaction: number[] = [];
    for (const [i, u] of reactors.entries()) {
      const arrived = new Promise<number>((resolve) => arrivals.set(`${u}@example.com`, resolve));
      const t0 = performance.now();
      await post('/v1/track', { userId: u, event: 'bench_go' });
      const t1 = await arrived;
      if (i >= 3) reaction.push(t1 - t0);
    }
    const raw: number[] = [];
    for (let i = 0; i < REACTIONS + 3; i++) {
      const handle = await temporal.workflow.start(awaitSignalWorkflow, {
        taskQueue: 'bench-exec',
        workflowId: `poke-${randomUUID()}`,
      });
      await new Promise((resolve) => setTimeout(resolve, 20));
      const t0 = performance.now();
      await handle.signal(pokeSignal);
      await handle.result();
      if (i >= 3) raw.push(performance.now() - t0);
    }
    console.log(
      `  reaction: event accepted -> action done   p50 ${ms(percentile(reaction, 50))}  p99 ${ms(percentile(reaction, 99))}`,
    );
    const slowest = (samples: number[]) =>
      [...samples]
        .sort((a, b) => b - a)
        .slice(0, 3)
        .map((v) => v.toFixed(0))
        .join(', ');
    console.log(
      `  slowest three: reaction ${slowest(reaction)} ms; raw ${slowest(raw)} ms (${reaction.length} samples each)`,
    );
    console.log(
      `  raw signal round trip                     p50 ${ms(percentile(raw, 50))}  p99 ${ms(percentile(raw, 99))}`,
    );
    console.log(
      `  ratio                                     p50 ${ratio(percentile(reaction, 50), percentile(raw, 50))}  p99 ${ratio(percentile(reaction, 99), percentile(raw, 99))}   (target p99 <= 3x)`,
    );

    // 3. Many sleeping enrollments: worker memory against their number.
    if (WAITING <= 0) {
      console.log('  sleeping enrollments: skipped (BENCH_WAITING=0)');
      return;
    }
    await post('/v1/journeys', {
      id: 'bench-sleep',
      name: 'Bench sleep',
      triggers: [{ type: 'event', event: 'bench_sleep' }],
      steps: [
        { id: 'nap', type: 'wait', duration: 'P7D' },
        { id: 'hello', type: 'sendEmail', template: 'welcome' },
      ],
    });
    // Through `batch` (identify + trigger for 100 contacts a request), as an import would.
    const sleepers = Array.from({ length: WAITING }, () => `s-${randomUUID()}`);
    const samples: string[] = [];
    const chunks = Array.from({ length: Math.ceil(WAITING / 100) }, (_, i) =>
      sleepers.slice(i * 100, i * 100 + 100),
    );
    const sampleEvery = Math.max(1, Math.ceil(chunks.length / 8));
    const start = performance.now();
    for (let i = 0; i < chunks.length; i += sampleEvery) {
      await pool(chunks.slice(i, i + sampleEvery), 4, (chunk) =>
        post('/v1/batch', {
          batch: chunk.flatMap((u) => [
            { type: 'identify', userId: u, traits: { email: `${u}@example.com` } },
            { type: 'track', userId: u, event: 'bench_sleep' },
          ]),
        }),
      );
      const target = Math.min(WAITING, (i + sampleEvery) * 100);
      // Routing failures leave events for the next start: give up when nothing moves for 2 min.
      let seen = -1;
      let movedAt = performance.now();
      for (
        let now = await enrollmentsOf('bench-sleep');
        now < target;
        now = await enrollmentsOf('bench-sleep')
      ) {
        if (now !== seen) [seen, movedAt] = [now, performance.now()];
        if (performance.now() - movedAt > 120_000)
          throw new Error(`sleeping enrollments stopped at ${now} of ${target} for 2 minutes`);
        await new Promise((r) => setTimeout(r, 500));
      }
      samples.push(`${target}: ${(await rssMb(worker.pid ?? 0)).toFixed(0)} MB`);
      // Printed as it goes too: a long run cut short still leaves its figures.
      console.log(
        `  ... ${samples.at(-1) ?? ''} worker RSS, ${((performance.now() - start) / 1000).toFixed(0)} s`,
      );
    }
    const seconds = (performance.now() - start) / 1000;
    console.log(
      `  ${WAITING} sleeping enrollments made in ${seconds.toFixed(1)} s (${(WAITING / seconds).toFixed(0)}/s, through batch: identify + trigger, 100 contacts a request)`,
    );
    console.log(`  worker resident memory: ${samples.join('; ')}`);
  } finally {
    worker?.kill('SIGTERM');
    emailWorker?.kill('SIGTERM');
    await api?.stop();
    await sink.stop();
    await server.stop();
    await admin.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
    await admin.end();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Seconds until `done` answers true, asked every 250 ms; gives up after 5 minutes. */
async function finishing(what: string, done: () => Promise<boolean>): Promise<number> {
  const start = performance.now();
  while (!(await done())) {
    if (performance.now() - start > 300_000)
      throw new Error(`${what} did not finish within 5 minutes`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return (performance.now() - start) / 1000;
}

async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

function startWorkerProcess(env: Record<string, string>): Promise<ChildProcess> {
  return startProcess(['bin/drumbeat.js', 'worker'], env, 'Drumbeat is running', false);
}

/** The one-email baseline's worker (bench/one-email.worker.ts), as a process of its own. */
function startOneEmailWorker(env: Record<string, string>): Promise<ChildProcess> {
  const script = fileURLToPath(new URL('./one-email.worker.ts', import.meta.url));
  return startProcess([script], env, 'ready');
}

/** Starts `node --import tsx ...args`; resolves once its output includes `ready`. */
async function startProcess(
  args: readonly string[],
  env: Record<string, string>,
  ready: string,
  importTsx = true,
): Promise<ChildProcess> {
  const loader = importTsx ? ['--import', 'tsx'] : [];
  const child = spawn(process.execPath, [...CHILD_NODE_ARGS, ...loader, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes(ready)) resolve();
    });
    child.once('exit', (code) =>
      reject(new Error(`${args.join(' ')} exited with ${String(code)}`)),
    );
  });
  return child;
}
