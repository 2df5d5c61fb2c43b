import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { loadConfig } from '../../config/index.js';
import { startEngine, type EngineRoles, type RunningEngine } from '../../runtime/engine.js';

export type DatabaseVariant = 'embedded' | 'postgres';

/** The database variants this run can test: always embedded, PostgreSQL when reachable. */
export function databaseVariants(): DatabaseVariant[] {
  return inject('postgresUrl') ? ['embedded', 'postgres'] : ['embedded'];
}

/**
 * Processes of one deployment that a test starts and stops itself (an API without a worker, a
 * worker that stops and starts again): one configuration, its own task queue and data
 * directory, on the run's Temporal dev server and the chosen database. `start` starts an engine
 * with the given roles; `stopAll` stops every one still running and removes the directory.
 */
export async function deploymentParts(
  variant: DatabaseVariant,
  name: string,
): Promise<{
  readonly start: (roles: EngineRoles) => Promise<RunningEngine>;
  readonly stopAll: () => Promise<void>;
}> {
  const dataDir = await mkdtemp(join(tmpdir(), `drumbeat-${name}-`));
  const config = loadConfig({
    PORT: '0',
    DATA_DIR: dataDir,
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    TEMPORAL_TASK_QUEUE: `${name}-${uniqueSuffix()}`,
    SMTP_SINK_PORT: '0',
    DATABASE_URL: variant === 'postgres' ? (inject('postgresUrl') ?? '') : '',
  });
  const running: RunningEngine[] = [];
  return {
    start: async (roles) => {
      const engine = await startEngine(config, {
        roles,
        workflowBundle: { codePath: inject('workflowBundlePath') },
      });
      running.push(engine);
      return engine;
    },
    stopAll: async () => {
      for (const engine of running) await engine.stop().catch(() => undefined);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * The real engine, as `npm start` runs it, pointed at the run's shared Temporal dev server,
 * with its own task queue, an SMTP sink and API on free ports, and the chosen database.
 * `env` adds or overrides environment variables (DKIM keys, for example). Webhooks may call
 * private addresses, as the receivers in tests listen on 127.0.0.1; a test of the refusal sets
 * `WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'false'`.
 */
export async function startTestEngine(
  variant: DatabaseVariant,
  env: Readonly<Record<string, string>> = {},
): Promise<RunningEngine & { cleanup(): Promise<void> }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'drumbeat-engine-'));
  const config = loadConfig({
    PORT: '0',
    DATA_DIR: dataDir,
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    TEMPORAL_TASK_QUEUE: `test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
    SMTP_SINK_PORT: '0',
    DATABASE_URL: variant === 'postgres' ? (inject('postgresUrl') ?? '') : '',
    WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
    // On the PostgreSQL database the run's files share, an engine's routing sweep would route
    // other files' events that are slow to route onto its own task queue: a day keeps it out.
    // A test of the sweep gives its engine a database of its own (tests/support/postgres.ts).
    ...(variant === 'postgres' ? { ROUTING_RECOVERY_SECONDS: '86400' } : {}),
    ...env,
  });
  const engine = await startEngine(config, {
    workflowBundle: { codePath: inject('workflowBundlePath') },
  });
  return {
    ...engine,
    cleanup: async () => {
      await engine.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Polls `check` until it returns a value, or fails after `timeoutMs`. */
export async function eventually<T>(
  check: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  timeoutMs = 20_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline)
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export function uniqueSuffix(): string {
  return `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
}
