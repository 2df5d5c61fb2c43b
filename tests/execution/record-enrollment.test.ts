import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActivityDeps, LogEntry } from '../../activities/index.js';
import { recordEnrollment } from '../../activities/record-enrollment.activity.js';
import type { Sql } from '../../store/index.js';
import { databaseVariants, startTestEngine, uniqueSuffix } from '../support/engine.js';
import { pendingEnrollment } from '../support/enrollment.js';
import { apiClient, type ApiClient } from '../support/http.js';

/**
 * The enrollment record (status, step, log) that workflows write at each wait and at the end:
 * records written at the same moment share one statement and its commit, and each still answers
 * for itself, a missing enrollment with an error, a repeat without writing anything twice.
 */
describe.each(databaseVariants())('enrollment records (%s database)', (variant) => {
  let engine: Awaited<ReturnType<typeof startTestEngine>>;
  let api: ApiClient;
  const key = `records-${uniqueSuffix()}`;
  beforeAll(async () => {
    engine = await startTestEngine(variant);
    api = apiClient(engine);
    const published = await api.post('/v1/journeys', {
      id: key,
      name: 'Records',
      triggers: [{ type: 'event', event: `go_${key}` }],
      steps: [{ id: 'nap', type: 'wait', duration: 'P1D' }],
    });
    expect(published.status, JSON.stringify(published.body)).toBe(201);
  });
  afterAll(async () => engine?.cleanup());

  /** The engine's database, counting the record statements. */
  const counted = () => {
    const names: string[] = [];
    const sql: Sql = {
      query: (text, params, options) => {
        names.push(options?.name ?? 'unnamed');
        return engine.deps.sql.query(text, params, options);
      },
      transaction: (work) => engine.deps.sql.transaction(work),
    };
    const deps = { ...engine.deps, sql } as unknown as ActivityDeps;
    return { deps, names };
  };
  const entry = (seq: number, kind: LogEntry['kind']): LogEntry => ({
    seq,
    at: Date.now(),
    kind,
    stepId: 'nap',
    detail: { n: seq },
  });
  const stored = async (enrollmentId: string) => {
    const row = await engine.deps.prisma.enrollment.findUniqueOrThrow({
      where: { id: enrollmentId },
      include: { log: { orderBy: { seq: 'asc' } } },
    });
    return { ...row, log: row.log.map((e) => [e.seq, e.kind]) };
  };

  it('writes records made together in one statement, each answering for itself', async () => {
    const ids = await Promise.all(
      ['a', 'b', 'c'].map(async (tag) => {
        const pending = await pendingEnrollment(engine, api, {
          userId: `${key}-${tag}`,
          journeyKey: key,
        });
        return pending.enrollmentId;
      }),
    );
    const [a, b, c] = ids as [string, string, string];
    const { deps, names } = counted();
    const results = await Promise.allSettled([
      recordEnrollment(deps, {
        enrollmentId: a,
        status: 'active',
        stepId: 'nap',
        log: [entry(1, 'entered'), entry(2, 'wait')],
      }),
      recordEnrollment(deps, { enrollmentId: b, status: 'completed', stepId: 'nap', log: [] }),
      recordEnrollment(deps, { enrollmentId: `${c}-missing`, status: 'active', stepId: 'nap' }),
      // A second record of `c` in the same moment: written after the first, so it stays.
      recordEnrollment(deps, {
        enrollmentId: c,
        status: 'active',
        stepId: 'nap',
        log: [entry(1, 'entered')],
      }),
      recordEnrollment(deps, {
        enrollmentId: c,
        status: 'exited',
        stepId: 'nap',
        log: [entry(2, 'finished')],
      }),
    ]);

    expect(results.map((r) => r.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'rejected',
      'fulfilled',
      'fulfilled',
    ]);
    expect(String((results[2] as PromiseRejectedResult).reason)).toContain('is not stored');
    expect(names, 'one statement, and one more for the second record of c').toEqual([
      'record-enrollments',
      'record-enrollments',
    ]);
    expect(await stored(a)).toMatchObject({
      status: 'active',
      currentStep: 'nap',
      endedAt: null,
      log: [
        [1, 'entered'],
        [2, 'wait'],
      ],
    });
    const ended = await stored(b);
    expect(ended).toMatchObject({ status: 'completed', log: [] });
    expect(ended.endedAt).not.toBeNull();
    expect(await stored(c)).toMatchObject({
      status: 'exited',
      log: [
        [1, 'entered'],
        [2, 'finished'],
      ],
    });

    // A retry of b's end writes nothing new: same status, the first end time kept.
    await recordEnrollment(deps, {
      enrollmentId: b,
      status: 'completed',
      stepId: 'nap',
      log: [],
    });
    expect((await stored(b)).endedAt).toEqual(ended.endedAt);
  });
});
