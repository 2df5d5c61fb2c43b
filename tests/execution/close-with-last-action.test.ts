import type { WorkflowHandle } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  contactEventSignal,
  exitSignal,
  journeyWorkflowV2,
  journeyWorkflowV3,
  type ContactEvent,
  type JourneyWorkflowInput,
} from '../../workflows/index.js';
import { startTestEngine, uniqueSuffix } from '../support/engine.js';
import {
  holdEnrollmentRow,
  lockHolder,
  pendingEnrollment,
  someoneWaitsOnALock,
} from '../support/enrollment.js';
import { apiClient, type ApiClient } from '../support/http.js';
import { waitForMail } from '../support/mailbox.js';

type Engine = Awaited<ReturnType<typeof startTestEngine>>;

/**
 * A journey's last action writes the enrollment's end in its own local activity (patch
 * `close-with-last-action`, always on in `journeyWorkflowV3`): one local activity and one
 * activation fewer for a one-email journey, with the same record and log as before. A goal
 * event or an exit that comes while that last action runs still decides how the enrollment ends,
 * and one already waiting when it starts leaves the end to the workflow, as before.
 */
describe('the last action writes the enrollment’s end', () => {
  let engine: Engine;
  let api: ApiClient;
  beforeAll(async () => {
    engine = await startTestEngine('embedded');
    api = apiClient(engine);
  });
  afterAll(async () => {
    await engine?.cleanup();
  });

  it('ends a journey in as many local activities as it has actions, with the same record and log', async () => {
    const key = `close-${uniqueSuffix()}`;
    await publish(api, key, [
      { id: 'hello', type: 'sendEmail', template: 'welcome' },
      { id: 'last', type: 'sendEmail', template: 'tips' },
    ]);
    const v3 = await finished(engine, await start(engine, api, journeyWorkflowV3, key, 'v3'));
    const v2 = await finished(engine, await start(engine, api, journeyWorkflowV2, key, 'v2'));

    expect(v3.result).toEqual({ outcome: 'completed', reason: null });
    expect(v2.result).toEqual(v3.result);
    // The two sends; V2 writes the end in a local activity of its own after the second.
    expect(v3.localActivities).toBe(2);
    expect(v2.localActivities).toBe(3);
    for (const { enrollment } of [v3, v2]) {
      expect(enrollment.status).toBe('completed');
      expect(enrollment.currentStep).toBe('last');
      expect(enrollment.endedAt).not.toBeNull();
    }
    expect(shape(v3.log)).toEqual(shape(v2.log));
    expect(shape(v3.log)).toEqual([
      [1, 'entered', 'hello'],
      [2, 'action', 'hello'],
      [3, 'entered', 'last'],
      [4, 'action', 'last'],
      [5, 'finished', 'last'],
    ]);
    const lastAction = v3.log.find((e) => e.seq === 4)?.detail;
    expect(lastAction).toMatchObject({
      action: 'sendEmail',
      iteration: 1,
      result: { type: 'sendEmail', result: { status: 'sent', to: v3.email, alreadySent: false } },
    });
    expect(lastAction?.result, 'the logged result is the action’s alone').not.toHaveProperty(
      'closed',
    );
    expect(v3.log.at(-1)?.detail).toEqual({ outcome: 'completed', reason: null });
    expect(await waitForMail(api, v3.email, 2)).toHaveLength(2);
  });

  it('plans no end when an event is already waiting as the last action starts', async () => {
    const key = `close-goal-${uniqueSuffix()}`;
    await publish(api, key, [{ id: 'only', type: 'sendEmail', template: 'welcome' }], {
      goals: [{ id: 'bought', type: 'event', event: `bought_${key}` }],
    });
    // Delivered with the start, the goal event is waiting when the only email goes: the send
    // writes no end, and the goal's end is written after it, as V2 does.
    const event: ContactEvent = { id: `evt-${key}`, name: `bought_${key}`, properties: {} };
    const { result, enrollment, log, localActivities, email } = await finished(
      engine,
      await start(engine, api, journeyWorkflowV3, key, 'v3', event),
    );

    expect(result).toEqual({ outcome: 'converted', reason: 'bought' });
    expect(enrollment.status).toBe('converted');
    expect(localActivities, 'the send, then the record of the end the goal reached').toBe(2);
    expect(shape(log)).toEqual([
      [1, 'entered', 'only'],
      [2, 'action', 'only'],
      [3, 'event', 'only'],
      [4, 'goalMet', 'only'],
      [5, 'finished', 'only'],
    ]);
    expect(log.at(-1)?.detail).toEqual({ outcome: 'converted', reason: 'bought' });
    expect(await waitForMail(api, email)).toHaveLength(1);
  });
});

/**
 * An exit or a goal event that comes while the last send's activity writes the planned end: the
 * write is held on a row lock (PostgreSQL) so the signal lands in exactly that moment, after the
 * email went.
 */
describe.runIf(inject('postgresUrl'))('a signal while the last action runs', () => {
  let engine: Engine;
  let api: ApiClient;
  const held = lockHolder();
  beforeAll(async () => {
    engine = await startTestEngine('postgres');
    api = apiClient(engine);
  });
  afterAll(async () => {
    await engine?.cleanup();
  });

  /**
   * Runs the one-email journey `key`, sending `signal` while the end's write is held. Held past
   * the point where the worker keeps its workflow task alive (80% of the task's 10 s timeout) and
   * is given the signal, the run hears it while the action runs. Committed sooner, the task ends
   * in an UnhandledCommand (the run tried to complete with a signal it had not seen), and the
   * task's next attempt replays the history with the signal first: the action's local activity
   * is not in it, so that attempt takes another path.
   */
  async function signalDuringLastAction(
    key: string,
    signal: (handle: WorkflowHandle<typeof journeyWorkflowV3>) => Promise<void>,
    holdMs = 9_000,
  ) {
    const pending = await pendingEnrollment(engine, api, { userId: `${key}-v3`, journeyKey: key });
    // The send goes; the end's write, after it, waits on the row.
    await holdEnrollmentRow(held, pending.enrollmentId);
    const handle = await engine.deps.temporal.workflow.start(journeyWorkflowV3, {
      workflowId: pending.enrollmentId,
      taskQueue: engine.deps.taskQueue,
      args: [pending.input],
    });
    await waitForMail(api, pending.email);
    await someoneWaitsOnALock(held, 'the end’s write to wait on the lock');
    await signal(handle);
    await new Promise((resolve) => setTimeout(resolve, holdMs));
    await held.query('COMMIT');
    return finished(engine, { ...pending, handle });
  }

  /** Whether a workflow task of the run failed (UnhandledCommand): hold < the heartbeat. */
  async function taskFailed(handle: WorkflowHandle): Promise<boolean> {
    const { events } = await handle.fetchHistory();
    return events?.some((e) => e.workflowTaskFailedEventAttributes != null) ?? false;
  }

  const HEARD = [
    { hold: 9_000, heard: 'by the run' },
    { hold: 500, heard: 'by the next task attempt' },
  ];

  it.each(HEARD)(
    'ends the enrollment as exited after the planned end, heard $heard',
    async ({ hold }) => {
      const key = `close-exit-${uniqueSuffix()}`;
      await publish(api, key, [{ id: 'only', type: 'sendEmail', template: 'welcome' }]);
      const { result, enrollment, log, email, handle } = await signalDuringLastAction(
        key,
        (handle) => handle.signal(exitSignal, { reason: 'unsubscribed' }),
        hold,
      );

      const failed = await taskFailed(handle);
      expect(failed, 'a workflow task failed (UnhandledCommand)').toBe(hold < 8_000);
      expect(result).toEqual({ outcome: 'exited', reason: 'unsubscribed' });
      expect(enrollment.status).toBe('exited');
      // The next task attempt heard the exit first and numbered its end 2, which the send's
      // entry had (the attempt Temporal discarded sent the email and wrote the planned end).
      expect(shape(log)).toEqual([
        [1, 'entered', 'only'],
        [2, 'action', 'only'],
        [3, 'finished', 'only'],
        [4, 'finished', 'only'],
      ]);
      expect(log[2]?.detail).toEqual({ outcome: 'completed', reason: null });
      expect(log.at(-1)?.detail).toEqual({
        outcome: 'exited',
        reason: 'unsubscribed',
        ...(failed ? { movedFrom: 2 } : {}),
      });
      expect(await waitForMail(api, email)).toHaveLength(1);
    },
  );

  it.each(HEARD)(
    'counts a goal event that came while the last action ran, heard $heard',
    async ({ hold }) => {
      const key = `close-goal-${uniqueSuffix()}`;
      await publish(api, key, [{ id: 'only', type: 'sendEmail', template: 'welcome' }], {
        goals: [{ id: 'bought', type: 'event', event: `bought_${key}` }],
      });
      const { result, enrollment, log, email, handle } = await signalDuringLastAction(
        key,
        (handle) =>
          handle.signal(contactEventSignal, {
            id: `evt-${key}`,
            name: `bought_${key}`,
            properties: {},
          }),
        hold,
      );

      const failed = await taskFailed(handle);
      expect(failed, 'a workflow task failed (UnhandledCommand)').toBe(hold < 8_000);
      expect(result).toEqual({ outcome: 'converted', reason: 'bought' });
      expect(enrollment.status).toBe('converted');
      // The planned end (completed) was written with the send; the goal's end comes after it.
      // The next task attempt heard the goal before the send, whose entry it found written (the
      // same entry: the send's retry answered that the email had gone), and numbered the rest
      // from 3, which the planned end had: those entries moved after it, the end from 5 to 6.
      expect(shape(log)).toEqual([
        [1, 'entered', 'only'],
        [2, 'action', 'only'],
        [3, 'finished', 'only'],
        [4, 'event', 'only'],
        [5, 'goalMet', 'only'],
        [6, 'finished', 'only'],
      ]);
      expect(log[2]?.detail).toEqual({ outcome: 'completed', reason: null });
      expect(log.at(-1)?.detail).toEqual({
        outcome: 'converted',
        reason: 'bought',
        ...(failed ? { movedFrom: 5 } : {}),
      });
      expect(await waitForMail(api, email)).toHaveLength(1);
    },
  );
});

interface LoggedEntry {
  readonly seq: number;
  readonly kind: string;
  readonly stepId: string | null;
  readonly detail: Record<string, unknown>;
}

const shape = (log: readonly LoggedEntry[]) => log.map((e) => [e.seq, e.kind, e.stepId]);

/** Publishes the journey `key` with these steps. */
async function publish(
  api: ApiClient,
  key: string,
  steps: Record<string, unknown>[],
  extra: Record<string, unknown> = {},
): Promise<void> {
  const res = await api.post('/v1/journeys', {
    id: key,
    name: 'Last action',
    triggers: [{ type: 'event', event: `go_${key}` }],
    steps,
    ...extra,
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
}

/** Starts the enrollment's workflow, with `event` delivered together with the start. */
async function start(
  engine: Engine,
  api: ApiClient,
  workflow: typeof journeyWorkflowV3,
  key: string,
  tag: string,
  event?: ContactEvent,
) {
  const pending = await pendingEnrollment(engine, api, {
    userId: `${key}-${tag}`,
    journeyKey: key,
  });
  const options = {
    workflowId: pending.enrollmentId,
    taskQueue: engine.deps.taskQueue,
    args: [pending.input] as [JourneyWorkflowInput],
  };
  const handle = event
    ? await engine.deps.temporal.workflow.signalWithStart(workflow, {
        ...options,
        signal: contactEventSignal,
        signalArgs: [event],
      })
    : await engine.deps.temporal.workflow.start(workflow, options);
  return { ...pending, handle };
}

/** How the enrollment ended: its result, local activities run, the stored record and log. */
async function finished(engine: Engine, started: Awaited<ReturnType<typeof start>>) {
  const result = await started.handle.result();
  const { events } = await started.handle.fetchHistory();
  const localActivities = (events ?? []).filter(
    (e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity',
  ).length;
  const enrollment = await engine.deps.prisma.enrollment.findUniqueOrThrow({
    where: { id: started.enrollmentId },
    include: { log: { orderBy: { seq: 'asc' } } },
  });
  const log: LoggedEntry[] = enrollment.log.map((e) => ({
    seq: e.seq,
    kind: e.kind,
    stepId: e.stepId,
    detail: e.detail as Record<string, unknown>,
  }));
  return { result, localActivities, enrollment, log, email: started.email, handle: started.handle };
}
