import { readFile } from 'node:fs/promises';
import { compileJourney, validateJourney } from '../definitions/index.js';
import { simulate } from '../core/index.js';
import type { Config } from '../config/index.js';
import { loadTemplates } from '../mail/index.js';

/**
 * `drumbeat simulate <journey.json> [--contacts N]`: runs the journey for N contacts enrolled
 * now on the simulator's virtual clock (a year passes in milliseconds) and prints where they
 * ended and what the journey did. Nothing is stored or sent.
 */
export async function simulateCommand(
  config: Config,
  file: string,
  options: Readonly<Record<string, string>>,
): Promise<number> {
  const contacts = Number(options.contacts ?? '100');
  if (!Number.isInteger(contacts) || contacts < 1 || contacts > 1_000_000) {
    console.error('--contacts must be a whole number from 1 to 1000000.');
    return 2;
  }
  const templates = await loadTemplates(config.templatesDir);
  let document: unknown;
  try {
    document = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    console.error(
      `${file}: not readable JSON (${error instanceof Error ? error.message : String(error)})`,
    );
    return 1;
  }
  const validated = validateJourney(document, { templateExists: (t) => templates.has(t) });
  if (!validated.ok) {
    console.log(`✗ ${file}: ${validated.problems.length} problem(s)`);
    for (const p of validated.problems)
      console.log(`    ${p.pointer || '/'}  ${p.message}  [${p.code}]`);
    return 1;
  }
  const start = Date.now();
  const began = performance.now();
  const result = simulate({
    plan: compileJourney(validated.value),
    contacts: Array.from({ length: contacts }, (_, i) => ({ id: `sim-${i + 1}`, enrollAt: start })),
    start,
  });
  const ms = performance.now() - began;
  const outcomes = count(result.enrollments.map((e) => e.outcome ?? 'still waiting'));
  const actions = count(result.actions.map((a) => `${a.stepId} (${a.action.type})`));
  // A loop, not Math.max(...): a million contacts' actions are more arguments than a call takes.
  const lastAt = result.actions.reduce((latest, a) => Math.max(latest, a.at), start);
  console.log(
    `Simulated ${contacts} contact(s) through "${validated.value.name}" in ${ms.toFixed(0)} ms:`,
  );
  console.log(`  outcomes:  ${format(outcomes)}`);
  console.log(`  actions:   ${format(actions) || 'none'}`);
  console.log(
    `  last action ${((lastAt - start) / 86_400_000).toFixed(2)} day(s) after enrollment (virtual time)`,
  );
  if (result.stoppedAt !== null)
    console.log(
      `  stopped ${((result.stoppedAt - start) / 86_400_000).toFixed(2)} day(s) in: the journey took more steps than a simulation may`,
    );
  return 0;
}

function count(items: readonly string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const i of items) m.set(i, (m.get(i) ?? 0) + 1);
  return m;
}

function format(m: Map<string, number>): string {
  return [...m].map(([k, v]) => `${k}: ${v}`).join(', ');
}
