/** Percentiles and formatting shared by the benchmarks. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] ?? Number.NaN;
}

export function ms(value: number): string {
  return `${value.toFixed(1)} ms`;
}

export function ratio(a: number, b: number): string {
  return `${(a / b).toFixed(2)}x`;
}

/** One round of a throughput comparison: the system's rate and the baseline's. */
export interface Round {
  readonly api: number;
  readonly raw: number;
}

/**
 * Runs `rounds` rounds of both sides, alternating which goes first, so a machine that speeds
 * up or slows down during the run (it is shared) weighs on both sides alike.
 */
export async function alternateRounds(
  rounds: number,
  api: () => Promise<number>,
  raw: () => Promise<number>,
): Promise<Round[]> {
  const done: Round[] = [];
  for (let r = 0; r < rounds; r++) {
    if (r % 2 === 0) {
      const a = await api();
      done.push({ api: a, raw: await raw() });
    } else {
      const b = await raw();
      done.push({ raw: b, api: await api() });
    }
  }
  return done;
}

/** "median of rounds 0.71x; best vs best 0.72x": the median round ratio first. */
export function roundsRatio(rounds: readonly Round[]): string {
  const ratios = rounds.map((r) => r.api / r.raw).sort((a, b) => a - b);
  const median = ratios[Math.floor(ratios.length / 2)] ?? Number.NaN;
  const best = (side: keyof Round) => Math.max(...rounds.map((r) => r[side]));
  return `median of rounds ${median.toFixed(2)}x; best vs best ${ratio(best('api'), best('raw'))}`;
}
