import { readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { ConfigError, loadConfig } from '../config/index.js';
import { compileJourney, validateJourney, validateScoringModel } from '../definitions/index.js';
import { loadTemplates } from '../mail/index.js';
import { startEngine, type EngineRoles } from '../runtime/engine.js';
import { openDatabase } from '../store/index.js';
import { createApiKeyCommand, createWorkspaceCommand } from './admin.command.js';
import { deploy, kindOf } from './deploy.command.js';
import { importContactsCommand } from './import.command.js';
import { simulateCommand } from './simulate.command.js';

const USAGE = `Usage: drumbeat <command>

  start              Run everything: Temporal dev server (unless TEMPORAL_ADDRESS), database,
                     SMTP sink (unless SMTP_URL), worker and API.
  api                Run only the API (needs TEMPORAL_ADDRESS and DATABASE_URL in production).
  worker             Run only the Temporal worker.
  migrate            Apply database migrations and exit.
  validate <files>   Validate journey definitions; exits 1 if any has problems.
  deploy <dir> [--workspace id]
                     Validate every definition (journeys, scoring models) under <dir>, then
                     publish the changed ones; nothing is published if any has a problem.
  import-contacts <file.csv> [--workspace id] [--map "Column:target,…"]
                     Import contacts from CSV (dedupe on email), with a progress bar.
  simulate <journey.json> [--contacts N]
                     Run a journey for N contacts on the virtual clock; nothing is sent.
  workspace create <name>
                     Create a workspace and print its first admin API key (shown once).
  api-key create [--workspace id] [--scope admin|write|ingest] [--name text]
                     Create an API key and print it (shown once).
`;

async function main(argv: readonly string[]): Promise<number> {
  const [command = 'start', ...args] = argv;
  switch (command) {
    case 'start':
      return serve({ api: true, worker: true });
    case 'api':
      return serve({ api: true, worker: false });
    case 'worker':
      return serve({ api: false, worker: true });
    case 'migrate':
      return migrate();
    case 'validate':
      return validate(args);
    case 'deploy': {
      const { positional, options } = parseArgs(args);
      if (!positional[0])
        return usageError('Give the folder to deploy: drumbeat deploy definitions/');
      return deploy(loadConfig(), positional[0], options.workspace ?? 'default');
    }
    case 'import-contacts': {
      const { positional, options } = parseArgs(args);
      return importContactsCommand(loadConfig(), positional[0], options);
    }
    case 'simulate': {
      const { positional, options } = parseArgs(args);
      if (!positional[0]) return usageError('Give a journey file: drumbeat simulate journey.json');
      return simulateCommand(loadConfig(), positional[0], options);
    }
    case 'workspace': {
      const { positional } = parseArgs(args);
      if (positional[0] !== 'create') return usageError('Usage: drumbeat workspace create <name>');
      return createWorkspaceCommand(loadConfig(), positional.slice(1).join(' '));
    }
    case 'api-key': {
      const { positional, options } = parseArgs(args);
      if (positional[0] !== 'create')
        return usageError('Usage: drumbeat api-key create --scope write');
      return createApiKeyCommand(loadConfig(), options);
    }
    case 'help':
    case '--help':
      process.stdout.write(USAGE);
      return 0;
    default:
      process.stderr.write(`Unknown command "${command}".\n\n${USAGE}`);
      return 2;
  }
}

async function serve(roles: EngineRoles): Promise<number> {
  const config = loadConfig();
  console.log('Drumbeat is starting…');
  const engine = await startEngine(config, { roles });
  const lines = [
    engine.apiUrl &&
      `  API            ${engine.apiUrl}   (health: ${engine.apiUrl}/healthz, docs: ${engine.apiUrl}/docs)`,
    engine.apiUrl &&
      engine.apiHeaders.authorization &&
      `  API key        ${engine.apiHeaders.authorization.replace(/^Bearer /, '')}\n                 (admin, default workspace; kept in ${join(config.dataDir, 'dev-api-key')}:\n                  curl -H "Authorization: Bearer $(cat ${relativeDataDir(config.dataDir)}/dev-api-key)" …)`,
    `  Temporal       ${engine.temporalAddress}${config.temporalAddress ? '' : '   (dev server, data in ' + join(config.dataDir, 'temporal.db') + ')'}`,
    engine.temporalUiUrl && `  Temporal UI    ${engine.temporalUiUrl}`,
    `  Database       ${engine.database.kind === 'embedded' ? 'embedded PostgreSQL (PGlite) in ' : 'PostgreSQL '}${engine.database.location}`,
    engine.smtp.embedded
      ? `  Mail           SMTP sink at ${engine.smtp.url}; read it at ${engine.apiUrl ?? ''}/v1/mailbox`
      : `  Mail           relay ${redactUrl(engine.smtp.url)}`,
    roles.worker && `  Worker         task queue "${config.taskQueue}"`,
  ].filter(Boolean);
  console.log(`Drumbeat is running:\n${lines.join('\n')}\nPress Ctrl-C to stop.`);

  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      console.log(`\n${signal} received, stopping…`);
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await engine.stop();
  console.log('Drumbeat stopped.');
  return 0;
}

async function migrate(): Promise<number> {
  const config = loadConfig();
  const db = await openDatabase(
    config.databaseUrl
      ? { kind: 'postgres', url: config.databaseUrl }
      : { kind: 'embedded', dataDir: join(config.dataDir, 'db') },
  );
  console.log(`Migrations applied (${db.location}).`);
  await db.close();
  return 0;
}

async function validate(files: readonly string[]): Promise<number> {
  if (files.length === 0) {
    process.stderr.write('Give one or more journey definition files.\n');
    return 2;
  }
  const config = loadConfig();
  const templates = await loadTemplates(config.templatesDir);
  let failed = 0;
  for (const file of files) {
    let document: unknown;
    try {
      document = JSON.parse(await readFile(file, 'utf8'));
    } catch (error) {
      console.log(`✗ ${file}: not readable JSON (${(error as Error).message})`);
      failed++;
      continue;
    }
    const kind = kindOf(document);
    const journey =
      kind === 'journey'
        ? validateJourney(document, { templateExists: (name) => templates.has(name) })
        : null;
    const result = journey ?? validateScoringModel(document);
    if (result.ok) {
      const plan = journey?.ok ? ` (plan ${compileJourney(journey.value).hash.slice(0, 12)})` : '';
      console.log(`✓ ${file}: valid ${kind}${plan}`);
    } else {
      failed++;
      console.log(`✗ ${file}: ${result.problems.length} problem(s)`);
      for (const p of result.problems)
        console.log(`    ${p.pointer || '/'}  ${p.message}  [${p.code}]`);
    }
  }
  return failed > 0 ? 1 : 0;
}

/** `--name value` options and the remaining positional arguments. */
function parseArgs(args: readonly string[]): {
  positional: string[];
  options: Record<string, string>;
} {
  const positional: string[] = [];
  const options: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg.startsWith('--')) {
      const [name = '', inline] = arg.slice(2).split('=', 2);
      options[name] = inline ?? args[++i] ?? '';
    } else positional.push(arg);
  }
  return { positional, options };
}

function usageError(message: string): number {
  process.stderr.write(`${message}\n\n${USAGE}`);
  return 2;
}

function relativeDataDir(dir: string): string {
  const rel = relative(process.cwd(), dir);
  return rel === '' || rel.startsWith('..') ? dir : rel;
}

function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof ConfigError) {
      console.error(`\n${error.message}`);
    } else if (error instanceof Error && 'code' in error) {
      console.error(`\nDrumbeat could not start: ${error.message}`);
    } else {
      console.error('\nDrumbeat failed:', error);
    }
    process.exit(1);
  },
);
