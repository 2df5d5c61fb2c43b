import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contactEventSignal, journeyWorkflowV2 } from '../../workflows/index.js';
import { startTestEngine, uniqueSuffix } from '../support/engine.js';
import { pendingEnrollment } from '../support/enrollment.js';
import { apiClient, type ApiClient } from '../support/http.js';
import { mailboxOf, waitForMail } from '../support/mailbox.js';

/**
 * A journey that loops keeps its history bounded: the workflow continues as new at a wait,
 * carrying its state, so iteration counts (and so idempotency keys) and the log go on.
 * The history limit is lowered for the test; in production it is thousands of events.
 */
describe('long-running journeys', () => {
  let engine: Awaited<ReturnType<typeof startTestEngine>>;
  let api: ApiClient;
  beforeAll(async () => {
    engine = await startTestEngine('embedded');
    api = apiClient(engine);
  });
  afterAll(async () => {
    await engine?.cleanup();
  });

  it('continues as new at a wait and carries on where it was', { timeout: 90_000 }, async () => {
    const s = uniqueSuffix();
    const definition = {
      id: `loop-${s}`,
      name: 'Weekly digest (fast)',
      triggers: [{ type: 'event', event: `subscribed_${s}` }],
      steps: [
        {
          id: 'digest',
          type: 'sendEmail',
          template: 'tips',
          subject: 'Digest {{contact.firstName}}',
        },
        {
          id: 'until-next',
          type: 'waitForEvent',
          event: `stop_${s}`,
          timeout: 'PT0.4S',
          onTimeout: 'digest',
          next: 'end',
        },
        { id: 'end', type: 'exit' },
      ],
    };
    await api.post('/v1/journeys', definition);
    const { enrollmentId, input, email } = await pendingEnrollment(engine, api, {
      userId: `loop-${s}`,
      journeyKey: `loop-${s}`,
      traits: { firstName: 'Ola' },
    });
    const handle = await engine.deps.temporal.workflow.start(journeyWorkflowV2, {
      workflowId: enrollmentId,
      taskQueue: engine.deps.taskQueue,
      args: [{ ...input, historyLimit: 40 }],
    });

    await waitForMail(api, email, 8, 60_000);
    await handle.signal(contactEventSignal, { id: `stop-${s}`, name: `stop_${s}`, properties: {} });
    const result = await handle.result();
    expect(result.outcome).toBe('exited');

    const description = await handle.describe();
    expect(description.runId, 'the last run is not the first one').not.toBe(
      handle.firstExecutionRunId,
    );
    const sent = await mailboxOf(api, email);
    expect(new Set(sent.map((m) => m.messageId)).size).toBe(sent.length);
    const log = await engine.deps.prisma.enrollmentLogEntry.findMany({
      where: { enrollmentId },
      orderBy: { seq: 'asc' },
    });
    expect(log.map((e) => e.seq)).toEqual(log.map((_, i) => i + 1));
    expect(log.filter((e) => e.kind === 'action')).toHaveLength(sent.length);
  });
});
