import { edgesOf, isWait } from './journey-graph.js';
import type { StepDefinition } from './journey.schema.js';
import { pointerOf, type Problem } from './problem.js';

/**
 * Checks on the shape of the journey: step ids unique and known, every step reachable from
 * the first, and no loop that could repeat without waiting.
 */
export function graphProblems(steps: readonly StepDefinition[]): Problem[] {
  const problems: Problem[] = [];
  const index = new Map<string, number>();
  steps.forEach((step, i) => {
    if (!index.has(step.id)) index.set(step.id, i);
    else {
      problems.push({
        pointer: pointerOf('steps', i, 'id'),
        code: 'duplicate-step-id',
        message: `Two steps are called \`${step.id}\`; each step needs its own id.`,
      });
    }
  });

  const successors = steps.map((step, i) => {
    const targets: number[] = [];
    for (const edge of edgesOf(step, steps[i + 1]?.id ?? null)) {
      if (edge.to === null) continue;
      const target = index.get(edge.to);
      if (target !== undefined) targets.push(target);
      else {
        problems.push({
          pointer: pointerOf('steps', i, ...edge.at),
          code: 'unknown-step',
          message: `Step \`${step.id}\` continues to \`${edge.to}\`, but there is no step with that id.`,
        });
      }
    }
    return targets;
  });

  const reached = reachable(successors);
  steps.forEach((step, i) => {
    if (!reached.has(i) && index.get(step.id) === i) {
      problems.push({
        pointer: pointerOf('steps', i),
        code: 'unreachable-step',
        message: `Step \`${step.id}\` is never reached: no step leads to it.`,
      });
    }
  });

  for (const cycle of loopsWithoutWait(steps, successors)) {
    const names = cycle.map((i) => `\`${steps[i]?.id ?? ''}\``);
    problems.push({
      pointer: pointerOf('steps', cycle[0] ?? 0),
      code: 'loop-without-wait',
      message: `Steps ${names.join(', ')} can repeat in a loop without any wait between them; add a wait to the loop.`,
    });
  }
  return problems;
}

function reachable(successors: readonly number[][]): Set<number> {
  const seen = new Set<number>();
  const stack = successors.length > 0 ? [0] : [];
  for (let i = stack.pop(); i !== undefined; i = stack.pop()) {
    if (seen.has(i)) continue;
    seen.add(i);
    stack.push(...(successors[i] ?? []));
  }
  return seen;
}

/**
 * Strongly connected groups of non-wait steps (Tarjan): each group with a cycle is a loop
 * that could spin without ever pausing. Iterative, so a long chain cannot overflow the stack.
 */
function loopsWithoutWait(
  steps: readonly StepDefinition[],
  successors: readonly number[][],
): number[][] {
  const active = steps.map((s) => !isWait(s));
  const edges = successors.map((targets, i) => (active[i] ? targets.filter((t) => active[t]) : []));
  const order = new Array<number>(steps.length).fill(-1);
  const low = new Array<number>(steps.length).fill(0);
  const onStack = new Array<boolean>(steps.length).fill(false);
  const stack: number[] = [];
  const loops: number[][] = [];
  let counter = 0;

  for (let root = 0; root < steps.length; root++) {
    if (!active[root] || order[root] !== -1) continue;
    const work: [number, number][] = [[root, 0]];
    while (work.length > 0) {
      const frame = work[work.length - 1];
      if (!frame) break;
      const [v, k] = frame;
      if (k === 0) {
        order[v] = low[v] = counter++;
        stack.push(v);
        onStack[v] = true;
      }
      const targets = edges[v] ?? [];
      if (k < targets.length) {
        frame[1] = k + 1;
        const w = targets[k] ?? 0;
        if (order[w] === -1) work.push([w, 0]);
        else if (onStack[w]) low[v] = Math.min(low[v] ?? 0, order[w] ?? 0);
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low[parent[0]] = Math.min(low[parent[0]] ?? 0, low[v] ?? 0);
      if (low[v] !== order[v]) continue;
      const group: number[] = [];
      for (let w = stack.pop(); w !== undefined; w = stack.pop()) {
        onStack[w] = false;
        group.push(w);
        if (w === v) break;
      }
      if (group.length > 1 || (edges[v] ?? []).includes(v)) loops.push(group.sort((a, b) => a - b));
    }
  }
  return loops;
}
