import { pointerOf, type Problem } from './problem.js';

/**
 * Limits checked before the schema: AJV validates recursively, so a document nested a
 * hundred thousand levels deep would exhaust the stack. Walks iteratively.
 */
export const MAX_DEPTH = 32;
export const MAX_NODES = 200_000;

export function shapeProblems(input: unknown): Problem[] {
  const stack: { value: unknown; depth: number; path: (string | number)[] }[] = [
    { value: input, depth: 0, path: [] },
  ];
  let nodes = 0;
  while (stack.length > 0) {
    const item = stack.pop();
    if (!item) break;
    if (++nodes > MAX_NODES) {
      return [
        {
          pointer: '',
          code: 'too-large',
          message: `The document is too large: it has more than ${MAX_NODES} values.`,
        },
      ];
    }
    if (item.depth > MAX_DEPTH) {
      return [
        {
          pointer: pointerOf(...item.path),
          code: 'too-deep',
          message: `This part is nested more than ${MAX_DEPTH} levels deep; simplify it (for example, flatten nested all/any conditions).`,
        },
      ];
    }
    if (typeof item.value !== 'object' || item.value === null) continue;
    const entries: [string | number, unknown][] = Array.isArray(item.value)
      ? item.value.map((v, i): [number, unknown] => [i, v])
      : Object.entries(item.value);
    for (const [key, value] of entries)
      stack.push({ value, depth: item.depth + 1, path: [...item.path, key] });
  }
  return [];
}
