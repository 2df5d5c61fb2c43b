import { describe, expect, it } from 'vitest';
import { coalesce } from '../../store/index.js';

/** A statement stand-in that records the batches it was given and answers after a tick. */
function recorder(fail: (item: number) => boolean = () => false) {
  const batches: number[][] = [];
  const run = async (items: readonly number[]) => {
    batches.push([...items]);
    await new Promise((resolve) => setTimeout(resolve, 5));
    if (items.some(fail)) throw new Error(`bad item in ${items.join(',')}`);
    return items.map((i) => i * 10);
  };
  return { batches, run };
}

describe('coalesce', () => {
  it('runs the calls of one turn as one batch and those that come while it runs as the next, answering each', async () => {
    const { batches, run } = recorder();
    const call = coalesce(run);
    const first = Promise.all([1, 2, 3].map(call));
    await new Promise((resolve) => setImmediate(resolve)); // the first batch is in flight
    const second = Promise.all([4, 5].map(call));
    expect(await first).toEqual([10, 20, 30]);
    expect(await second).toEqual([40, 50]);
    expect(batches).toEqual([
      [1, 2, 3],
      [4, 5],
    ]);
  });

  it('keeps batches within maxBatch', async () => {
    const { batches, run } = recorder();
    const call = coalesce(run, { maxBatch: 2 });
    await Promise.all([1, 2, 3, 4, 5].map(call));
    expect(batches).toEqual([[1, 2], [3, 4], [5]]);
  });

  it('fails only the call whose item broke the batch', async () => {
    const { run } = recorder((i) => i === 3);
    const call = coalesce(run);
    const settled = await Promise.allSettled([1, 2, 3, 4].map(call));
    expect(settled.map((s) => s.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'rejected',
      'fulfilled',
    ]);
    expect(settled[1]).toEqual({ status: 'fulfilled', value: 20 });
  });

  it('rejects calls a statement left unanswered instead of leaving them waiting', async () => {
    const call = coalesce((items: readonly number[]) => Promise.resolve(items.slice(1)));
    const settled = await Promise.allSettled([call(1)]);
    expect(settled[0]?.status).toBe('rejected');
  });
});
