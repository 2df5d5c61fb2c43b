import { describe, expect, it } from 'vitest';
import { simulate } from '../../core/index.js';
import {
  compileJourney,
  validateJourney,
  validateScoringModel,
  type Problem,
} from '../../definitions/index.js';
import { JOURNEY_EXAMPLES, readExample, TEMPLATES, T0 } from '../core/examples.js';

/**
 * Thousands of random and mutated definitions thrown at validation and compilation: nothing
 * crashes or hangs, and every rejection is well-formed. Seeded, so a failure reproduces: the
 * failing seed and case number are in the assertion message.
 */
const SEED = Number(process.env.FUZZ_SEED ?? 20250303);
const CASES = 10_000;

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function fuzzer(random: () => number) {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const junk = (depth = 0): Json => {
    const kind = Math.floor(random() * (depth > 3 ? 6 : 9));
    switch (kind) {
      case 0:
        return null;
      case 1:
        return random() < 0.5;
      case 2:
        return pick([0, -1, 1.5, 1e308, -1e308, Number.MAX_SAFE_INTEGER, 60]);
      case 3:
        return pick([
          '',
          'x',
          'P3D',
          '-P1D',
          'PT0S',
          'contact.plan',
          'event.__proto__',
          '__proto__',
          'welcome',
          '09:00',
          'Mars/Olympus',
          '{{contact.x}}',
        ]);
      case 4:
        return 'x'.repeat(pick([1, 1000, 100_000]));
      case 5:
        return pick([
          'sendEmail',
          'wait',
          'branch',
          'split',
          'exit',
          'all',
          'not',
          'equals',
          'waitForEvent',
          'event',
          'schedule',
        ]);
      case 6:
        return Array.from({ length: Math.floor(random() * 4) }, () => junk(depth + 1));
      case 7: {
        const o: { [key: string]: Json } = {};
        for (let i = Math.floor(random() * 4); i > 0; i--)
          o[pick(['type', 'id', 'next', 'field', 'value', 'steps', 'x'])] = junk(depth + 1);
        return o;
      }
      default: {
        let nested: Json = { type: 'exists', field: 'contact.plan' };
        for (let i = Math.floor(random() * 60); i > 0; i--)
          nested = { type: 'not', condition: nested };
        return nested;
      }
    }
  };
  /** Every container in the document, with a way to change one of its members. */
  const spots = (
    root: Json,
  ): { holder: Json[] | { [key: string]: Json }; key: string | number }[] => {
    const found: { holder: Json[] | { [key: string]: Json }; key: string | number }[] = [];
    const walk = (v: Json) => {
      if (Array.isArray(v)) {
        v.forEach((c, i) => {
          found.push({ holder: v, key: i });
          walk(c);
        });
        return;
      }
      if (v === null || typeof v !== 'object') return;
      for (const [k, c] of Object.entries(v)) {
        found.push({ holder: v, key: k });
        walk(c);
      }
    };
    walk(root);
    return found;
  };
  const mutate = (doc: Json): Json => {
    const copy: Json = JSON.parse(JSON.stringify(doc)) as Json;
    for (let n = 1 + Math.floor(random() * 3); n > 0; n--) {
      const all = spots(copy);
      if (all.length === 0) break;
      const { holder, key } = pick(all);
      const op = Math.floor(random() * 5);
      if (Array.isArray(holder) && typeof key === 'number') {
        if (op === 0) holder.splice(key, 1);
        else if (op === 1)
          holder.splice(key, 0, JSON.parse(JSON.stringify(holder[key] ?? null)) as Json);
        else holder[key] = junk();
      } else if (!Array.isArray(holder) && typeof key === 'string') {
        if (op === 0) delete holder[key];
        else if (op === 1)
          Object.assign(holder, JSON.parse(`{"__proto__": ${JSON.stringify(junk())}}`) as object);
        else if (op === 2) holder[`${key}_copy`] = holder[key] ?? null;
        else holder[key] = junk();
      }
    }
    return copy;
  };
  return { junk, mutate, pick };
}

function resolves(document: unknown, pointer: string): boolean {
  if (pointer === '') return true;
  if (!/^(\/([^~/]|~[01])*)+$/.test(pointer)) return false;
  const segments = pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  let here: unknown = document;
  for (const s of segments.slice(0, -1)) {
    if (typeof here !== 'object' || here === null || !Object.hasOwn(here, s)) return false;
    here = (here as Record<string, unknown>)[s];
  }
  return true;
}

function wellFormed(problems: readonly Problem[], input: unknown): string | null {
  if (problems.length === 0) return 'rejected without problems';
  for (const p of problems) {
    if (typeof p.code !== 'string' || p.code === '') return `empty code: ${JSON.stringify(p)}`;
    if (typeof p.message !== 'string' || p.message.trim() === '')
      return `empty message: ${JSON.stringify(p)}`;
    if (!resolves(input, p.pointer))
      return `pointer does not lead into the document: ${JSON.stringify(p)}`;
  }
  return null;
}

describe('fuzzing validation and compilation', () => {
  const examples = JOURNEY_EXAMPLES.map((f) => readExample(f) as Json);
  const context = {
    templateExists: (n: string) => TEMPLATES.has(n),
    contactAttributes: { plan: 'string' as const },
  };

  it(`survives ${CASES} mutated examples and random documents (seed ${SEED})`, () => {
    const random = prng(SEED);
    const { junk, mutate, pick } = fuzzer(random);
    let accepted = 0;
    // A hang shows up as this test's timeout; no wall-clock bound here (shared, noisy machine).
    for (let i = 0; i < CASES; i++) {
      const input = i % 5 === 4 ? junk() : mutate(pick(examples));
      const result = validateJourney(input, context);
      if (result.ok) {
        accepted++;
        const plan = compileJourney(result.value);
        simulate({
          plan,
          contacts: [{ id: 'c', enrollAt: T0 }],
          start: T0,
          end: T0 + 60 * 86_400_000,
        });
      } else {
        expect(wellFormed(result.problems, input), `seed ${SEED} case ${i}`).toBeNull();
      }
    }
    expect(accepted).toBeGreaterThan(0);
  }, 30_000);

  it('survives random scoring models', () => {
    const random = prng(SEED + 1);
    const { mutate } = fuzzer(random);
    const model = readExample('default-scoring-model.json') as Json;
    for (let i = 0; i < 500; i++) {
      const input = mutate(model);
      const result = validateScoringModel(input);
      if (!result.ok) expect(wellFormed(result.problems, input), `case ${i}`).toBeNull();
    }
  });
});
