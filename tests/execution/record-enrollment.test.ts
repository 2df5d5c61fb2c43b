import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActivityDeps, LogEntry } from '../../activities/index.js';
import {
  recordEnrollment,
  type RecordEnrollmentInput,
} from '../../activities/record-enrollment.activity.js';
import { databaseVariants, startTestEngine, uniqueSuffix } from '../support/engine.js';
import { lockHolder, pendingEnrollment, someoneWaitsOnALock } from '../support/enrollment.js';
import { apiClient, type ApiClient } from '../support/http.js';

/**
 * The enrollment record (status, step, log) that workflows write at each wait and at the end,
 * as a local activity that may run more than once: a repeat writes nothing twice, and entries
 * numbered over others by a workflow task attempt that Temporal discarded are kept after them.
 */
describe.each(databaseVariants())('enrollment records (%s database)', (variant) => {
  let engine: Awaited<ReturnType<typeof startTestEngine>>;
  let api: ApiClient;
  let deps: ActivityDeps;
  const key = `records-${uniqueSuffix()}`;
  beforeAll(async () => {
    engine = await startTestEngine(variant);
    api = apiClient(engine);
    deps = engine.deps as unknown as ActivityDeps;
    const published = await api.post('/v1/journeys', {
      id: key,
      name: 'Records',
      triggers: [{ type: 'event', event: `go_${key}` }],
      steps: [{ id: 'hello', type: 'sendEmail', template: 'welcome' }],
    });
    expect(published.status, JSON.stringify(published.body)).toBe(201);
  });
  afterAll(async () => engine?.cleanup());

  const entry = (seq: number, kind: LogEntry['kind'], detail = {}): LogEntry => ({
    seq,
    at: Date.now(),
    kind,
    stepId: 'hello',
    detail,
  });
  /** One record of the enrollment `id`, as a workflow's flush writes it. */
  const write = (id: string, status: RecordEnrollmentInput['status'], log: LogEntry[]) =>
    recordEnrollment(deps, { enrollmentId: id, status, stepId: 'hello', log });
  const enrollment = async (tag: string) =>
    (await pendingEnrollment(engine, api, { userId: `${key}-${tag}`, journeyKey: key }))
      .enrollmentId;
  const stored = async (enrollmentId: string) => {
    const row = await engine.deps.prisma.enrollment.findUniqueOrThrow({
      where: { id: enrollmentId },
      include: { log: { orderBy: { seq: 'asc' } } },
    });
    return { status: row.status, log: row.log.map((e) => [e.seq, e.kind, e.detail]) };
  };

  it('writes a repeated record once, even when the repeat’s details differ', async () => {
    const id = await enrollment('repeat');
    const first = [entry(1, 'entered'), entry(2, 'action', { result: { alreadySent: false } })];
    await write(id, 'active', first);
    // A retried send answers `alreadySent`: the same entry under the same number all the same.
    const again = [entry(1, 'entered'), entry(2, 'action', { result: { alreadySent: true } })];
    await write(id, 'active', again);

    expect(await stored(id)).toEqual({
      status: 'active',
      log: [
        [1, 'entered', {}],
        [2, 'action', { result: { alreadySent: false } }],
      ],
    });
  });

  it('keeps entries numbered over others after the log’s last one, in their order', async () => {
    const id = await enrollment('moved');
    // A task attempt that Temporal discarded: the send and the end it planned.
    await write(id, 'completed', [
      entry(1, 'entered'),
      entry(2, 'action'),
      entry(3, 'finished', { outcome: 'completed' }),
    ]);
    // The next attempt heard an exit first: its entries from 2 on are another path.
    await write(id, 'exited', [
      entry(1, 'entered'),
      entry(2, 'exitMet'),
      entry(3, 'finished', { outcome: 'exited' }),
    ]);

    expect(await stored(id)).toEqual({
      status: 'exited',
      log: [
        [1, 'entered', {}],
        [2, 'action', {}],
        [3, 'finished', { outcome: 'completed' }],
        [4, 'exitMet', { movedFrom: 2 }],
        [5, 'finished', { outcome: 'exited', movedFrom: 3 }],
      ],
    });
    // The moving write again (its local activity ran twice): nothing is added.
    await write(id, 'exited', [
      entry(1, 'entered'),
      entry(2, 'exitMet'),
      entry(3, 'finished', { outcome: 'exited' }),
    ]);
    expect((await stored(id)).log).toHaveLength(5);
  });

  it('places the later entries of a run that moved as many numbers on', async () => {
    const id = await enrollment('beyond');
    await write(id, 'active', [entry(1, 'entered'), entry(2, 'action'), entry(3, 'wait')]);
    // The next attempt heard an event first (2), then waited (3): both moved, to 4 and 5.
    await write(id, 'active', [entry(2, 'event'), entry(3, 'wait')]);
    // The run goes on from its own 4: two numbers on, after the log's last entry.
    await write(id, 'completed', [entry(4, 'woke'), entry(5, 'wait'), entry(6, 'finished')]);
    // Its last write again (its local activity ran twice): found in those places.
    await write(id, 'completed', [entry(4, 'woke'), entry(5, 'wait'), entry(6, 'finished')]);

    expect((await stored(id)).log).toEqual([
      [1, 'entered', {}],
      [2, 'action', {}],
      [3, 'wait', {}],
      [4, 'event', { movedFrom: 2 }],
      [5, 'wait', { movedFrom: 3 }],
      [6, 'woke', { movedFrom: 4 }],
      [7, 'wait', { movedFrom: 5 }],
      [8, 'finished', { movedFrom: 6 }],
    ]);
  });

  it('keeps a second discarded attempt of a run that moved, and the attempt after it', async () => {
    const id = await enrollment('twice');
    await write(id, 'active', [entry(1, 'entered'), entry(2, 'action'), entry(3, 'wait')]);
    await write(id, 'active', [entry(2, 'event'), entry(3, 'wait')]); // moved to 4 and 5
    // A task attempt Temporal discards: its 4 to 7 go two numbers on, to 6 to 9.
    await write(id, 'completed', [
      entry(4, 'woke'),
      entry(5, 'entered'),
      entry(6, 'action'),
      entry(7, 'finished', { outcome: 'completed' }),
    ]);
    // The next attempt heard a goal event first: another path from its own 4 on.
    await write(id, 'converted', [
      entry(4, 'event'),
      entry(5, 'entered'),
      entry(6, 'action'),
      entry(7, 'finished', { outcome: 'converted' }),
    ]);

    expect((await stored(id)).log.slice(5)).toEqual([
      [6, 'woke', { movedFrom: 4 }],
      [7, 'entered', { movedFrom: 5 }],
      [8, 'action', { movedFrom: 6 }],
      [9, 'finished', { outcome: 'completed', movedFrom: 7 }],
      [10, 'event', { movedFrom: 4 }],
      [11, 'entered', { movedFrom: 5 }],
      [12, 'action', { movedFrom: 6 }],
      [13, 'finished', { outcome: 'converted', movedFrom: 7 }],
    ]);
  });

  it('takes an end with another outcome in the same place for another path', async () => {
    const id = await enrollment('outcome');
    await write(id, 'completed', [
      entry(1, 'entered'),
      entry(2, 'finished', { outcome: 'completed' }),
    ]);
    await write(id, 'exited', [entry(1, 'entered'), entry(2, 'finished', { outcome: 'exited' })]);

    expect((await stored(id)).log).toEqual([
      [1, 'entered', {}],
      [2, 'finished', { outcome: 'completed' }],
      [3, 'finished', { outcome: 'exited', movedFrom: 2 }],
    ]);
  });

  it('does not take a moved entry for a repeat of another entry of its kind', async () => {
    const id = await enrollment('same-kind');
    await write(id, 'active', [entry(1, 'entered'), entry(2, 'action'), entry(3, 'wait')]);
    await write(id, 'active', [entry(2, 'event'), entry(3, 'wait')]); // moved to 4 and 5
    await write(id, 'active', [entry(4, 'woke')]); // moved to 6
    // The run's own 5 is a wait too, but not the one moved there (that one was its 3).
    await write(id, 'active', [entry(5, 'wait')]);

    expect((await stored(id)).log).toEqual([
      [1, 'entered', {}],
      [2, 'action', {}],
      [3, 'wait', {}],
      [4, 'event', { movedFrom: 2 }],
      [5, 'wait', { movedFrom: 3 }],
      [6, 'woke', { movedFrom: 4 }],
      [7, 'wait', { movedFrom: 5 }],
    ]);
  });

  // Two writes of one enrollment at once: a task attempt that Temporal started while a stalled
  // one still writes its record. The embedded database has one connection: PostgreSQL only.
  const stalled = variant === 'postgres' ? lockHolder() : null;
  it.runIf(stalled)(
    'keeps both when one write waits on the other’s uncommitted entries',
    async () => {
      if (!stalled) throw new Error('runs on PostgreSQL only');
      const id = await enrollment('race');
      // The stalled attempt's record: its entries are in, not committed yet.
      await stalled.query('BEGIN');
      await stalled.query(
        `INSERT INTO enrollment_log (enrollment_id, seq, at, kind, step_id, detail)
       VALUES ($1, 1, now(), 'entered', 'hello', '{}'), ($1, 2, now(), 'action', 'hello', '{}'),
              ($1, 3, now(), 'finished', 'hello', '{"outcome":"completed"}')`,
        [id],
      );
      const writing = write(id, 'exited', [
        entry(1, 'entered'),
        entry(2, 'finished', { outcome: 'exited' }),
      ]);
      await someoneWaitsOnALock(stalled, 'the second write to wait on the first one’s entries');
      await stalled.query('COMMIT');
      await writing;

      expect(await stored(id)).toEqual({
        status: 'exited',
        log: [
          [1, 'entered', {}],
          [2, 'action', {}],
          [3, 'finished', { outcome: 'completed' }],
          [4, 'finished', { outcome: 'exited', movedFrom: 2 }],
        ],
      });
    },
  );
});
