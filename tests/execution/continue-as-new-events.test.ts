import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planOf } from '../../engine/index.js';
import { newId } from '../../store/index.js';
import { contactEventSignal, journeyWorkflow } from '../../workflows/index.js';
import { startTestEngine, uniqueSuffix } from '../support/engine.js';
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

  it('a wait right after continue-as-new sees the event that came during the action before it', async () => {
    const s = uniqueSuffix();
    const key = `carry-${s}`;
    const published = await api.post('/v1/journeys', {
      id: key,
      name: 'Confirm your address',
      triggers: [{ type: 'event', event: `signed_up_${s}` }],
      steps: [
        { id: 'ask', type: 'sendEmail', template: 'welcome' },
        {
          id: 'wait-confirm',
          type: 'waitForEvent',
          event: `confirmed_${s}`,
          timeout: 'PT4S',
          onTimeout: 'missed',
          next: 'thanks',
        },
        { id: 'missed', type: 'exit' },
        { id: 'thanks', type: 'sendEmail', template: 'tips', subject: 'Thanks' },
      ],
    });
    expect(published.status, JSON.stringify(published.body)).toBe(201);
    await api.post('/v1/identify', {
      userId: key,
      traits: { email: `${key}@example.com`, firstName: 'Cai' },
    });
    const prisma = engine.deps.prisma;
    const contact = await prisma.contact.findFirstOrThrow({ where: { userId: key } });
    const version = await prisma.journeyVersion.findFirstOrThrow({ where: { journey: { key } } });
    const enrollmentId = `enrollment/test-carry/${s}`;
    await prisma.enrollment.create({
      data: {
        id: enrollmentId,
        workspaceId: contact.workspaceId,
        journeyVersionId: version.id,
        contactId: contact.id,
        entryKey: newId(),
        status: 'pending',
      },
    });

    // The confirmation is delivered with the start, so it is already there while `ask` sends:
    // it is carried to the wait. The low history limit makes the workflow continue as new at
    // that wait (the first run has about ten events by then; the next run starts with three).
    const handle = await engine.deps.temporal.workflow.signalWithStart(journeyWorkflow, {
      workflowId: enrollmentId,
      taskQueue: engine.deps.taskQueue,
      args: [
        {
          workspaceId: contact.workspaceId,
          journeyVersionId: version.id,
          contactId: contact.id,
          plan: planOf(version),
          trigger: { eventId: null, name: null, properties: {} },
          historyLimit: 6,
        },
      ],
      signal: contactEventSignal,
      signalArgs: [{ id: `confirm-${s}`, name: `confirmed_${s}`, properties: {} }],
    });
    const result = await handle.result();

    const description = await handle.describe();
    expect(description.runId, 'the enrollment continued as new').not.toBe(handle.signaledRunId);
    expect(result, 'the wait reacted to the carried event, not to its timeout').toEqual({
      outcome: 'completed',
      reason: null,
    });
    const entered = await prisma.enrollmentLogEntry.findMany({
      where: { enrollmentId, kind: 'entered' },
      orderBy: { seq: 'asc' },
    });
    expect(entered.map((e) => e.stepId)).toEqual(['ask', 'wait-confirm', 'thanks']);
  });
});
