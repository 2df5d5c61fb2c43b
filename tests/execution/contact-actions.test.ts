import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyContactAction } from '../../engine/contact-actions.js';
import { eventually, startTestEngine, uniqueSuffix } from '../support/engine.js';
import { apiClient, type ApiClient } from '../support/http.js';
import { mailboxOf } from '../support/mailbox.js';
import { pendingEnrollment } from '../support/enrollment.js';
import { journeyWorkflowV5 } from '../../workflows/index.js';

interface ContactBody {
  plan_name?: string;
  visits?: number;
  tags?: string[];
  lifecycleStage?: string;
  scores?: Record<string, number>;
  enrollments: { journey: string; status: string }[];
}

/** Steps that change the contact and its journeys, on Temporal, each applied once. */
describe('contact actions', () => {
  let engine: Awaited<ReturnType<typeof startTestEngine>>;
  let api: ApiClient;
  beforeAll(async () => {
    engine = await startTestEngine('embedded');
    api = apiClient(engine);
  });
  afterAll(async () => {
    await engine?.cleanup();
  });

  it('updates attributes, tags and stage; a stage change starts the journey that listens for it', async () => {
    const s = uniqueSuffix();
    const handoff = await api.post('/v1/journeys', {
      id: `handoff-${s}`,
      name: 'Sales hand-off',
      triggers: [{ type: 'lifecycleChange', to: 'mql' }],
      steps: [{ id: 'tell', type: 'sendEmail', template: 'welcome', subject: 'You are an MQL' }],
    });
    expect(handoff.status, JSON.stringify(handoff.body)).toBe(201);
    const nurture = await api.post('/v1/journeys', {
      id: `nurture-${s}`,
      name: 'Nurture',
      triggers: [{ type: 'event', event: `downloaded_${s}` }],
      steps: [
        {
          id: 'note',
          type: 'updateContact',
          changes: [
            { type: 'set', attribute: 'plan_name', value: '{{event.properties.plan}}' },
            { type: 'increment', attribute: 'visits', by: 2 },
          ],
        },
        { id: 'tag', type: 'updateTags', add: ['ebook', 'warm'], remove: ['cold'] },
        { id: 'points', type: 'adjustScore', score: 'manual', points: 15 },
        { id: 'promote', type: 'setLifecycleStage', stage: 'mql' },
      ],
    });
    expect(nurture.status, JSON.stringify(nurture.body)).toBe(201);
    const userId = `lead-${s}`;
    await api.post('/v1/identify', {
      userId,
      traits: { email: `${userId}@example.com`, tags: ['cold'], visits: 1 },
    });
    await api.post('/v1/track', { userId, event: `downloaded_${s}`, properties: { plan: 'Pro' } });

    const contact = await eventually(
      async () => {
        const body = (await api.get(`/v1/contacts/${userId}`)).body as ContactBody;
        return body.enrollments.length === 2 &&
          body.enrollments.every((e) => e.status === 'completed')
          ? body
          : undefined;
      },
      20_000,
      'both journeys to complete',
    );
    expect(contact).toMatchObject({ plan_name: 'Pro', visits: 3, lifecycleStage: 'mql' });
    expect(contact.tags?.sort()).toEqual(['ebook', 'warm']);
    expect(contact.scores).toEqual({ manual: 15 });
    const mail = await mailboxOf(api, `${userId}@example.com`);
    expect(mail.map((m) => m.subject)).toEqual(['You are an MQL']);
  });

  it('branches on whether the contact has any tag (`exists` on tags), live and in a preview', async () => {
    const s = uniqueSuffix();
    const definition = {
      id: `any-tag-${s}`,
      name: 'Any tag',
      triggers: [{ type: 'event', event: `look_${s}` }],
      steps: [
        {
          id: 'which',
          type: 'branch',
          cases: [{ name: 'tagged', condition: { type: 'exists', field: 'tags' }, next: 'seen' }],
          else: 'bare',
        },
        { id: 'seen', type: 'updateTags', add: [`had-tags-${s}`], next: 'end' },
        { id: 'bare', type: 'updateTags', add: [`had-none-${s}`], next: 'end' },
        { id: 'end', type: 'exit' },
      ],
    };
    expect((await api.post('/v1/journeys', definition)).status).toBe(201);
    const tagsAfter = async (userId: string, tags?: string[]) => {
      await api.post('/v1/identify', {
        userId,
        traits: { email: `${userId}@example.com`, ...(tags ? { tags } : {}) },
      });
      await api.post('/v1/track', { userId, event: `look_${s}` });
      return eventually(
        async () => {
          const body = (await api.get(`/v1/contacts/${userId}`)).body as ContactBody;
          return body.enrollments[0]?.status === 'exited' ? body.tags : undefined;
        },
        20_000,
        'the branch',
      );
    };
    expect(await tagsAfter(`bare-${s}`)).toEqual([`had-none-${s}`]);
    expect(await tagsAfter(`tagged-${s}`, ['early'])).toEqual(['early', `had-tags-${s}`]);
    // The preview decides the same way.
    const preview = await api.post('/v1/journeys/simulate', {
      journey: definition,
      contacts: [{ id: 'bare' }, { id: 'tagged', tags: ['early'] }],
      timeline: [
        { at: '2026-01-01T09:00:00Z', contactId: 'bare', name: `look_${s}` },
        { at: '2026-01-01T09:00:00Z', contactId: 'tagged', name: `look_${s}` },
      ],
    });
    expect(preview.status, JSON.stringify(preview.body)).toBe(200);
    const paths = (
      preview.body as { enrollments: { contactId: string; path: { stepId: string }[] }[] }
    ).enrollments.map((e) => [e.contactId, e.path.map((p) => p.stepId)[1]]);
    expect(Object.fromEntries(paths)).toEqual({ bare: 'bare', tagged: 'seen' });

    // A run of the type started before (journeyWorkflowV5) decides as it did then: its facts
    // keep the empty list, which counts as a value, so its replays stay as they were.
    const older = await pendingEnrollment(engine, api, {
      userId: `older-${s}`,
      journeyKey: `any-tag-${s}`,
    });
    const handle = await engine.deps.temporal.workflow.start(journeyWorkflowV5, {
      workflowId: older.enrollmentId,
      taskQueue: engine.deps.taskQueue,
      args: [older.input],
    });
    await handle.result();
    const olderTags = ((await api.get(`/v1/contacts/older-${s}`)).body as ContactBody).tags;
    expect(olderTags).toEqual([`had-tags-${s}`]);
  });

  it('enrolls the contact in another journey and removes it from one', async () => {
    const s = uniqueSuffix();
    await api.post('/v1/journeys', {
      id: `waiting-${s}`,
      name: 'Waiting',
      triggers: [{ type: 'event', event: `first_${s}` }],
      steps: [{ id: 'long', type: 'wait', duration: 'P30D' }],
    });
    await api.post('/v1/journeys', {
      id: `onboarding-${s}`,
      name: 'Onboarding',
      triggers: [{ type: 'manual' }],
      steps: [{ id: 'hi', type: 'sendEmail', template: 'welcome' }],
    });
    const mover = await api.post('/v1/journeys', {
      id: `mover-${s}`,
      name: 'Mover',
      triggers: [{ type: 'event', event: `second_${s}` }],
      steps: [
        { id: 'leave', type: 'unenroll', journey: `waiting-${s}` },
        { id: 'join', type: 'enroll', journey: `onboarding-${s}` },
      ],
    });
    expect(mover.status, JSON.stringify(mover.body)).toBe(201);
    const userId = `mover-${s}`;
    await api.post('/v1/identify', { userId, traits: { email: `${userId}@example.com` } });
    await api.post('/v1/track', { userId, event: `first_${s}` });
    await api.post('/v1/track', { userId, event: `second_${s}` });
    const contact = await eventually(
      async () => {
        const body = (await api.get(`/v1/contacts/${userId}`)).body as ContactBody;
        const by = Object.fromEntries(body.enrollments.map((e) => [e.journey, e.status]));
        return by[`waiting-${s}`] === 'exited' && by[`onboarding-${s}`] === 'completed'
          ? by
          : undefined;
      },
      20_000,
      'the move',
    );
    expect(contact[`mover-${s}`]).toBe('completed');
  });

  it('enrolls once when an enroll step is tried again, even where re-entry allows another', async () => {
    const s = uniqueSuffix();
    const published = await api.post('/v1/journeys', {
      id: `again-${s}`,
      name: 'Again',
      triggers: [{ type: 'manual' }],
      entry: { reentry: 'everyTime' },
      steps: [{ id: 'hi', type: 'sendEmail', template: 'welcome' }],
    });
    expect(published.status, JSON.stringify(published.body)).toBe(201);
    const userId = `again-${s}`;
    await api.post('/v1/identify', { userId, traits: { email: `${userId}@example.com` } });
    const { id: contactId } = (await api.get(`/v1/contacts/${userId}`)).body as { id: string };
    // The step as its activity runs it, twice under the same key: the second is the retry after
    // a failure that followed the enrollment (the closing write, a worker that died).
    const step = {
      key: `mover-enrollment:join:1:${s}`,
      enrollmentId: `mover-enrollment-${s}`,
      stepId: 'join',
      workspaceId: 'default',
      contactId,
      action: { type: 'enroll', journey: `again-${s}` },
      trigger: { name: 'moved', properties: {} },
    } as const;
    const first = await applyContactAction(engine.deps, step);
    const retried = await applyContactAction(engine.deps, step);
    expect(first).toMatchObject({ applied: true, detail: { enrolled: true } });
    const enrollmentId = 'detail' in first ? String(first.detail?.enrollmentId) : '';
    expect(retried).toEqual({ applied: true, detail: { enrolled: true, enrollmentId } });
    const rows = await engine.deps.sql.query<{ id: string }>(
      `SELECT e.id FROM enrollments e JOIN journey_versions v ON v.id = e.journey_version_id
       JOIN journeys j ON j.id = v.journey_id WHERE j.key = $1 AND e.contact_id = $2`,
      [`again-${s}`, contactId],
    );
    expect(rows.map((r) => r.id)).toEqual([enrollmentId]);
    // Another step (or the same step in a later iteration) still enrolls again, as allowed.
    const next = await applyContactAction(engine.deps, { ...step, key: `${step.key}:2` });
    expect(next).toMatchObject({ applied: true, detail: { enrolled: true } });
  });
});
