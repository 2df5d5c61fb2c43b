import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { Worker } from '@temporalio/worker';
import { describe, expect, inject, it } from 'vitest';

const DIR = new URL('../fixtures/histories/', import.meta.url).pathname;

/**
 * Workflow histories recorded from real runs (scripts/record-histories.ts) replay against the
 * current workflow code. A change that would make running enrollments nondeterministic fails
 * here; such changes go behind `patched()`.
 */
describe('recorded journey histories', async () => {
  const files = (await readdir(DIR)).filter((f) => f.endsWith('.json')).sort();

  it('exist', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  it.each(files)('%s replays against the current workflow code', async (file) => {
    const history = historyFromJSON(JSON.parse(await readFile(join(DIR, file), 'utf8')));
    await Worker.runReplayHistory(
      { workflowBundle: { codePath: inject('workflowBundlePath') } },
      history,
    );
  });
});
