import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  contactEventSignal,
  exitSignal,
  journeyWorkflow,
  journeyWorkflowV2,
  journeyWorkflowV3,
  type JourneyWorkflowInput,
} from '../../workflows/index.js';
import { startTestEngine, uniqueSuffix } from '../support/engine.js';
import {
  holdEnrollmentRow,
  lockHolder,
  pendingEnrollment as pendingEnrollmentOf,
  someoneWaitsOnALock,
} from '../support/enrollment.js';
import { apiClient, type ApiClient } from '../support/http.js';

/**
 * An event that arrives while an action runs is kept for the wait that follows. When the
 * workflow continues as new at that wait, the event goes with it into the next run, so the
 * wait still reacts to it instead of sitting out its timeout.
 */
describe('events carried across continue-as-new', () => {
  let engine: Awaited<ReturnType<typeof startTestEngine>>;
  let api: ApiClient;
  beforeAll(async () => {
    engine = await startTestEngine('embedded');
    api = apiClient(engine);
  });
  afterAll(async () => {
    await engine?.cleanup();
  });

  // Enrollments start as `journeyWorkflowV3`; runs of the earlier types, started before it, go on.
  it.each([
    { workflow: journeyWorkflowV3, patchMarkers: false },
    { workflow: journeyWorkflowV2, patchMarkers: false },
    { workflow: journeyWorkflow, patchMarkers: true },
  ])(
    '$workflow.name: a wait right after continue-as-new sees the event that came during the action before it',
    async ({ workflow, patchMarkers }) => {
      const s = uniqueSuffix();
      const key = `carry-${s}`;
      const published = await publishConfirmation(api, key, s, 'PT4S', true);
      expect(published.status, JSON.stringify(published.body)).toBe(201);
      const { enrollmentId, input } = await pendingEnrollment(engine, api, key);

      // The confirmation is delivered with the start, so it is already there while `ask` sends:
      // it is carried to the wait, where the workflow continues as new.
      const handle = await engine.deps.temporal.workflow.signalWithStart(workflow, {
        workflowId: enrollmentId,
        taskQueue: engine.deps.taskQueue,
        args: [input],
        signal: contactEventSignal,
        signalArgs: [{ id: `confirm-${s}`, name: `confirmed_${s}`, properties: {} }],
      });
      const result = await handle.result();

      const description = await handle.describe();
      expect(description.runId, 'the enrollment continued as new').not.toBe(handle.signaledRunId);
      expect(description.type, 'continuing as new keeps the type').toBe(workflow.name);
      // The second run's history: patch markers (and their search attribute) only in the old type.
      const { events } = await handle.fetchHistory();
      const upserts = (events ?? []).filter((e) => e.upsertWorkflowSearchAttributesEventAttributes);
      expect(upserts.length > 0, 'TemporalChangeVersion upserts').toBe(patchMarkers);
      expect(result, 'the wait reacted to the carried event, not to its timeout').toEqual({
        outcome: 'completed',
        reason: null,
      });
      const entered = await engine.deps.prisma.enrollmentLogEntry.findMany({
        where: { enrollmentId, kind: 'entered' },
        orderBy: { seq: 'asc' },
      });
      expect(entered.map((e) => e.stepId)).toEqual(['ask', 'wait-confirm', 'thanks']);
    },
  );
});

/**
 * An exit (goal met elsewhere, unsubscribe, archive) that arrives while the run writes its log
 * just before continuing as new still ends the enrollment at once, rather than leaving it in a
 * day-long wait. The log write is held on a row lock (PostgreSQL) so the exit lands in exactly
 * that moment. With the log written by a local activity, Temporal refuses the continue-as-new
 * while the signal is unhandled and the run sees the exit first; histories from before local
 * bookkeeping wrote the log as a regular activity, and there the run carries the exit into the
 * next one (`resume.exitReason`).
 */
describe.runIf(inject('postgresUrl'))('an exit at continue-as-new', () => {
  let engine: Awaited<ReturnType<typeof startTestEngine>>;
  let api: ApiClient;
  const held = lockHolder();
  beforeAll(async () => {
    engine = await startTestEngine('postgres');
    api = apiClient(engine);
  });
  afterAll(async () => {
    await engine?.cleanup();
  });

  it('ends the enrollment when the exit came while the run wrote its log before continuing', async () => {
    const s = uniqueSuffix();
    const key = `exit-can-${s}`;
    const published = await publishConfirmation(api, key, s, 'P1D', false);
    expect(published.status, JSON.stringify(published.body)).toBe(201);
    const { enrollmentId, input } = await pendingEnrollment(engine, api, key);

    // The first log write, the one right before continuing as new, waits on the row.
    await holdEnrollmentRow(held, enrollmentId);
    const handle = await engine.deps.temporal.workflow.start(journeyWorkflowV3, {
      workflowId: enrollmentId,
      taskQueue: engine.deps.taskQueue,
      args: [input],
    });
    await someoneWaitsOnALock(held, 'the log write to wait on the lock');
    await handle.signal(exitSignal, { reason: 'unsubscribed' });
    await held.query('COMMIT');

    const result = await Promise.race([
      handle.result(),
      new Promise((resolve) => setTimeout(() => resolve('still waiting'), 30_000)),
    ]);
    expect(result, 'the exit ended the enrollment').toEqual({
      outcome: 'exited',
      reason: 'unsubscribed',
    });
  });
});

/**
 * The contact `key` and a pending enrollment of it in the journey `key`, with the workflow input
 * that continues as new at its first wait: any history is past a limit of one event, and the
 * next run, which begins at that wait, waits there.
 */
async function pendingEnrollment(
  engine: Awaited<ReturnType<typeof startTestEngine>>,
  api: ApiClient,
  key: string,
): Promise<{ enrollmentId: string; input: JourneyWorkflowInput }> {
  const pending = await pendingEnrollmentOf(engine, api, {
    userId: key,
    journeyKey: key,
    traits: { firstName: 'Cai' },
  });
  return { enrollmentId: pending.enrollmentId, input: { ...pending.input, historyLimit: 1 } };
}

/**
 * "Confirm your address": an email, then a wait for `confirmed_<s>` with `timeout` that exits
 * when it runs out; with `thanks`, a confirmation sends a second email.
 */
function publishConfirmation(
  api: ApiClient,
  key: string,
  s: string,
  timeout: string,
  thanks: boolean,
): ReturnType<ApiClient['post']> {
  return api.post('/v1/journeys', {
    id: key,
    name: 'Confirm your address',
    triggers: [{ type: 'event', event: `signed_up_${s}` }],
    steps: [
      { id: 'ask', type: 'sendEmail', template: 'welcome' },
      {
        id: 'wait-confirm',
        type: 'waitForEvent',
        event: `confirmed_${s}`,
        timeout,
        onTimeout: 'missed',
        ...(thanks ? { next: 'thanks' } : {}),
      },
      { id: 'missed', type: 'exit' },
      ...(thanks ? [{ id: 'thanks', type: 'sendEmail', template: 'tips', subject: 'Thanks' }] : []),
    ],
  });
}
