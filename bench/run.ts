import { runDefinitionsBench } from './definitions.bench.js';
import { runEmailBench } from './email.bench.js';
import { runExecutionBench } from './execution.bench.js';
import { runIngestBench } from './ingest.bench.js';
import { runLoadBench } from './load.bench.js';
import { runSliceBench } from './slice.bench.js';

/** `npm run bench`: every benchmark, each printing its figures beside a baseline from the same run. */
const benches: Record<string, () => Promise<void>> = {
  slice: runSliceBench,
  definitions: runDefinitionsBench,
  execution: runExecutionBench,
  ingest: runIngestBench,
  load: runLoadBench,
  email: runEmailBench,
};

const only = process.argv.slice(2);
for (const [name, run] of Object.entries(benches)) {
  if (only.length > 0 && !only.includes(name)) continue;
  await run();
}
