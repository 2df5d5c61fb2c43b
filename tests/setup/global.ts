import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import type { TestProject } from 'vitest/node';
import { WORKFLOW_BUNDLE_OPTIONS, WORKFLOWS_PATH } from '../../runtime/engine.js';
import { freePort, startTemporalDevServer } from '../../runtime/index.js';
import { createPostgresDatabase } from '../support/postgres.js';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    workflowBundlePath: string;
    /** A fresh PostgreSQL database for this run, or null when none is reachable. */
    postgresUrl: string | null;
  }
}

/** Starts what every test file shares: one Temporal dev server (in memory), one bundle, one PostgreSQL database. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = await mkdtemp(join(tmpdir(), 'drumbeat-test-'));
  const server = await startTemporalDevServer({
    port: await freePort(),
    uiPort: null,
    dbFile: null,
    logFile: join(dir, 'temporal.log'),
  });
  // Bundled as the worker bundles it (runtime/engine.ts), with the workflow modules preloaded.
  const { code } = await bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    logger: quietLogger,
    ...WORKFLOW_BUNDLE_OPTIONS,
  });
  const bundlePath = join(dir, 'workflow-bundle.js');
  await writeFile(bundlePath, code);
  const postgres = await createPostgresDatabase();

  project.provide('temporalAddress', server.address);
  project.provide('workflowBundlePath', bundlePath);
  project.provide('postgresUrl', postgres?.url ?? null);

  return async () => {
    await server.stop();
    await postgres?.drop();
    await rm(dir, { recursive: true, force: true });
  };
}

const quietLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (message: string) => console.warn(message),
  error: (message: string) => console.error(message),
};
