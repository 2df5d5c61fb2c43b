import { once } from 'node:events';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import {
  DefaultLogger,
  NativeConnection,
  Runtime,
  Worker,
  type WorkerOptions,
} from '@temporalio/worker';
import { createActivities } from '../activities/index.js';
import { createApp, createLogger, ensureDevApiKey } from '../api/index.js';
import type { Config } from '../config/index.js';
import {
  backgroundRoutingIdle,
  resumeImportJobs,
  runRoutingSweeper,
  runScorer,
  type EngineDeps,
} from '../engine/index.js';
import {
  createMailer,
  loadTemplates,
  startSmtpSink,
  type CapturedMessage,
  type Mailer,
  type SmtpSink,
} from '../mail/index.js';
import { newId, openDatabase, type Database } from '../store/index.js';
import { assertPortFree } from './ports.js';
import { startTemporalDevServer, type TemporalDevServer } from './temporal-cli.js';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));
export const WORKFLOW_BUNDLE_OPTIONS = { preloadModules: [WORKFLOWS_PATH] };

export interface EngineRoles {
  readonly api: boolean;
  readonly worker: boolean;
}

export interface RunningEngine {
  readonly apiUrl: string | null;
  readonly temporalAddress: string;
  readonly temporalUiUrl: string | null;
  readonly database: Database;
  readonly smtp: { readonly url: string; readonly embedded: boolean };
  readonly deps: EngineDeps;
  /** Headers that authenticate as an admin of the default workspace (the dev key); {} in production. */
  readonly apiHeaders: Record<string, string>;
  stop(): Promise<void>;
}

type Stopper = () => Promise<void> | void;

/**
 * Starts Drumbeat: Temporal (a dev server persisted in DATA_DIR unless TEMPORAL_ADDRESS is
 * set), the database (embedded unless DATABASE_URL is set), mail (an SMTP sink unless SMTP_URL
 * is set), then the worker and the API as the roles ask. On any failure, whatever had started
 * is stopped again before the error is thrown, so nothing is left running.
 */
export interface EngineOptions {
  readonly roles?: EngineRoles;
  /** A prebuilt workflow bundle (the test suite builds one for all its workers). */
  readonly workflowBundle?: WorkerOptions['workflowBundle'];
  /** Called after the embedded SMTP sink has stored a message (benchmarks time arrivals). */
  readonly onCapturedMail?: (mail: CapturedMessage) => void;
}

export async function startEngine(
  config: Config,
  options: EngineOptions = {},
): Promise<RunningEngine> {
  const roles = options.roles ?? { api: true, worker: true };
  const stoppers: Stopper[] = [];
  const stopAll = async () => {
    for (const stop of stoppers.splice(0).reverse()) {
      try {
        await withinStopTimeout(stop);
      } catch (error) {
        console.error('[drumbeat] error while stopping:', error);
      }
    }
  };
  try {
    if (roles.api)
      await assertPortFree(config.port, config.host, { what: 'Drumbeat API', envVar: 'PORT' });

    let devServer: TemporalDevServer | null = null;
    if (!config.temporalAddress) {
      devServer = await startTemporalDevServer({
        port: config.temporalPort,
        uiPort: config.temporalUiPort,
        dbFile: join(config.dataDir, 'temporal.db'),
        logFile: join(config.dataDir, 'temporal.log'),
        namespace: config.temporalNamespace,
      });
      stoppers.push(() => devServer?.stop());
    }
    const temporalAddress = config.temporalAddress ?? devServer?.address ?? '';

    const database = await openDatabase(
      config.databaseUrl
        ? { kind: 'postgres', url: config.databaseUrl }
        : { kind: 'embedded', dataDir: join(config.dataDir, 'db') },
    );
    stoppers.push(() => database.close());
    const templates = await loadTemplates(config.templatesDir);

    let sink: SmtpSink | null = null;
    if (!config.smtpUrl) {
      sink = await startSmtpSink({
        port: config.smtpSinkPort,
        host: '127.0.0.1',
        onMessage: async (mail) => {
          await database.prisma.capturedMail.create({
            data: {
              id: newId(),
              messageId: mail.messageId,
              from: mail.from,
              to: mail.to,
              subject: mail.subject,
              text: mail.text,
              html: mail.html,
              raw: mail.raw,
              receivedAt: mail.receivedAt,
            },
          });
          options.onCapturedMail?.(mail);
        },
      });
      stoppers.push(() => sink?.stop());
    }
    const smtpUrl = config.smtpUrl ?? sink?.url ?? '';
    const mailer: Mailer = createMailer(smtpUrl, { dkim: config.dkim });
    stoppers.push(() => mailer.close());

    const connection = await Connection.connect({ address: temporalAddress });
    stoppers.push(() => connection.close());
    const temporal = new Client({ connection, namespace: config.temporalNamespace });
    const deps: EngineDeps = {
      prisma: database.prisma,
      sql: database.sql,
      temporal,
      taskQueue: config.taskQueue,
      templates,
    };

    if (roles.worker) {
      const stopWorker = await runWorker({
        address: temporalAddress,
        namespace: config.temporalNamespace,
        taskQueue: config.taskQueue,
        cacheSize: config.workerCacheSize,
        activities: createActivities({
          prisma: database.prisma,
          sql: database.sql,
          mailer,
          templates,
          config: {
            mailFrom: config.mailFrom,
            secretKey: config.secretKey,
            publicUrl: config.publicUrl,
            webhookAllowPrivateNetworks: config.webhookAllowPrivateNetworks,
          },
          engine: deps,
        }),
        ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : {}),
      });
      stoppers.push(stopWorker);
    }

    let apiUrl: string | null = null;
    let apiHeaders: Record<string, string> = {};
    if (roles.api) {
      // The quick start's admin key (DATA_DIR/dev-api-key); never made in production.
      if (!(config.databaseUrl && process.env.NODE_ENV === 'production'))
        apiHeaders = {
          authorization: `Bearer ${await ensureDevApiKey(database.prisma, config.dataDir)}`,
        };
      const app = createApp({
        engine: deps,
        mailbox: sink !== null,
        publicUrl: config.publicUrl,
        secretKey: config.secretKey,
        logger: createLogger(
          process.env.VITEST && !process.env.LOG_LEVEL ? 'warn' : config.logLevel,
        ),
        rateLimit: config.rateLimit,
        sharedRateLimits: database.kind === 'postgres',
        bodyLimitKb: config.bodyLimitKb,
        metricsToken: config.metricsToken,
        readiness: async () => ({
          database: await database.prisma.$queryRaw`SELECT 1`.then(
            () => true,
            () => false,
          ),
          temporal: await connection.workflowService.getSystemInfo({}).then(
            () => true,
            () => false,
          ),
        }),
      });
      const server: Server = app.listen(config.port, config.host);
      await once(server, 'listening');
      // After the server closes: batches answered but still routing finish before the store closes.
      stoppers.push(() => backgroundRoutingIdle());
      // CSV imports cut short by a stop go on from there. Stopped after the server closes, so no
      // import is accepted that this process would no longer start. The embedded database has
      // one process: claims left by the last one (a stop that timed out) are released at once.
      stoppers.push(resumeImportJobs(deps, { releaseAll: database.kind === 'embedded' }));
      stoppers.push(
        () =>
          new Promise<void>((resolve) => {
            server.close(() => resolve());
            server.closeIdleConnections();
          }),
      );
      const address = server.address();
      apiUrl = `http://${config.host}:${typeof address === 'object' && address ? address.port : config.port}`;
      // Bulk-ingested events are scored in the background (engine/scorer.ts), from any process.
      stoppers.push(runScorer(deps));
      // Events no process routed (it crashed, or its routed mark failed) are routed by this one:
      // at once on start, then as they go stale. On PostgreSQL other processes may be routing
      // the fresh ones; the embedded database has this process only, so it routes them all first.
      const staleMs = config.routingRecoverySeconds * 1000;
      stoppers.push(
        runRoutingSweeper(deps, {
          staleMs,
          firstStaleMs: database.kind === 'embedded' ? 0 : staleMs,
          everyMs: Math.max(1000, staleMs / 2),
        }),
      );
    }

    return {
      apiUrl,
      temporalAddress,
      temporalUiUrl: devServer?.uiUrl ?? null,
      database,
      smtp: { url: smtpUrl, embedded: sink !== null },
      deps,
      apiHeaders,
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

export interface WorkerSetup {
  readonly address: string;
  readonly namespace: string;
  readonly taskQueue: string;
  readonly activities: WorkerOptions['activities'];
  /** Workflows kept in memory (sticky cache); evicted ones replay from history when needed. */
  readonly cacheSize?: number;
  /** A prebuilt workflow bundle (tests share one); otherwise workflows/ is bundled now. */
  readonly workflowBundle?: WorkerOptions['workflowBundle'];
}

/**
 * How long one part may take to stop before shutdown moves on: background work such as a
 * rescoring pass can hold the database, and Ctrl-C must still end the process.
 */
const STOP_TIMEOUT_MS = 15_000;

async function withinStopTimeout(stop: Stopper): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      console.error(
        `[drumbeat] a part did not stop within ${STOP_TIMEOUT_MS / 1000} s; going on without it.`,
      );
      resolve();
    }, STOP_TIMEOUT_MS);
  });
  try {
    await Promise.race([Promise.resolve(stop()), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

let runtimeInstalled = false;

/** The SDK logs every worker state change at INFO; Drumbeat keeps its output to what matters. */
function installQuietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  const level =
    process.env.TEMPORAL_LOG_LEVEL === 'DEBUG' || process.env.TEMPORAL_LOG_LEVEL === 'INFO'
      ? process.env.TEMPORAL_LOG_LEVEL
      : 'WARN';
  Runtime.install({ logger: new DefaultLogger(level) });
}

/** Creates and runs a Temporal worker; the returned function drains and stops it. */
export async function runWorker(setup: WorkerSetup): Promise<() => Promise<void>> {
  installQuietRuntime();
  const connection = await NativeConnection.connect({ address: setup.address });
  const worker = await Worker.create({
    connection,
    namespace: setup.namespace,
    taskQueue: setup.taskQueue,
    activities: setup.activities,
    maxCachedWorkflows: setup.cacheSize ?? 500,
    ...(setup.workflowBundle
      ? { workflowBundle: setup.workflowBundle }
      : { workflowsPath: WORKFLOWS_PATH, bundlerOptions: WORKFLOW_BUNDLE_OPTIONS }),
  });
  const running = worker.run();
  return async () => {
    if (worker.getState() === 'RUNNING') worker.shutdown();
    await running;
    await connection.close();
  };
}
