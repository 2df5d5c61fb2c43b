import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkspace, type OtherWorkspace } from '../api/workspaces.js';
import { databaseVariants, eventually, startTestEngine, uniqueSuffix } from '../support/engine.js';
import { apiClient, type ApiClient } from '../support/http.js';
import { mailboxOf, waitForMail } from '../support/mailbox.js';

interface Deferral {
  stepId: string;
  reason: string;
  at: string;
  until: string;
  resolvedAt: string | null;
}
interface EnrollmentBody {
  status: string;
  log: { kind: string; stepId: string | null; detail: { until?: number; reason?: string } }[];
  deferrals: Deferral[];
}

/**
 * Sends held back by the workspace's quiet hours or frequency cap are visible in the enrollment
 * API: `GET /v1/enrollments/:id` lists each deferral with its reason, the planned send time and,
 * once the email went, when the hold ended; the log has the matching `deferred` entry.
 */
describe.each(databaseVariants())('deferrals in the enrollment API (%s database)', (variant) => {
  let engine: Awaited<ReturnType<typeof startTestEngine>>;
  let operator: ApiClient;

  beforeAll(async () => {
    engine = await startTestEngine(variant);
    operator = apiClient(engine);
  });
  afterAll(async () => {
    await engine?.cleanup();
  });

  async function enrollOne(
    ws: OtherWorkspace,
    steps: readonly Record<string, unknown>[],
    extra: Record<string, unknown> = {},
  ): Promise<{ enrollmentId: string; email: string; userId: string }> {
    const suffix = uniqueSuffix();
    const event = `joined_${suffix}`;
    const published = await ws.api.post('/v1/journeys', {
      id: `held-${suffix}`,
      name: 'Held emails',
      triggers: [{ type: 'event', event }],
      steps,
      ...extra,
    });
    expect(published.status, JSON.stringify(published.body)).toBe(201);
    const userId = `u-${suffix}`;
    const email = `${userId}@example.com`;
    await ws.api.post('/v1/identify', {
      userId,
      traits: { email, firstName: 'Ines', timezone: 'UTC' },
    });
    const tracked = await ws.api.post('/v1/track', { userId, event });
    const routing = (tracked.body as { routing: { enrollments: { enrollmentId: string }[] } })
      .routing;
    const enrollmentId = routing.enrollments[0]?.enrollmentId ?? '';
    expect(enrollmentId).not.toBe('');
    return { enrollmentId, email, userId };
  }

  const enrollmentOf = async (ws: OtherWorkspace, id: string) => {
    const res = await ws.api.get(`/v1/enrollments/${encodeURIComponent(id)}`);
    expect(res.status).toBe(200);
    return res.body as EnrollmentBody;
  };

  it('ends a held send at once when the contact meets a goal meanwhile: the email never goes', async () => {
    const ws = await createWorkspace(operator, `Goal while held ${uniqueSuffix()}`);
    const now = new Date();
    const nowMinute = now.getUTCHours() * 60 + now.getUTCMinutes();
    await engine.deps.prisma.messagingPolicy.create({
      data: {
        workspaceId: ws.id,
        quietStartMinute: nowMinute,
        quietEndMinute: (nowMinute + 120) % 1440,
      },
    });
    const goal = `bought_${uniqueSuffix()}`;
    const { enrollmentId, email, userId } = await enrollOne(
      ws,
      [{ id: 'reminder', type: 'sendEmail', template: 'welcome' }],
      { goals: [{ id: 'bought', type: 'event', event: goal }] },
    );
    await eventually(
      async () => ((await enrollmentOf(ws, enrollmentId)).deferrals.length > 0 ? true : null),
      20_000,
      'the deferral',
    );
    expect((await ws.api.post('/v1/track', { userId, event: goal })).status).toBe(200);
    const ended = await eventually(
      async () => {
        const b = await enrollmentOf(ws, enrollmentId);
        return b.status === 'active' ? null : b;
      },
      20_000,
      'the enrollment to end',
    );
    expect(ended.status).toBe('converted');
    expect(await mailboxOf(operator, email)).toEqual([]);
  });

  it('shows a send held by quiet hours with its reason and the time it will go', async () => {
    const ws = await createWorkspace(operator, `Quiet ${uniqueSuffix()}`);
    const now = new Date();
    const nowMinute = now.getUTCHours() * 60 + now.getUTCMinutes();
    const endMinute = (nowMinute + 120) % 1440;
    await engine.deps.prisma.messagingPolicy.create({
      data: { workspaceId: ws.id, quietStartMinute: nowMinute, quietEndMinute: endMinute },
    });
    const { enrollmentId, email } = await enrollOne(ws, [
      { id: 'welcome', type: 'sendEmail', template: 'welcome' },
    ]);

    const body = await eventually(
      async () => {
        const b = await enrollmentOf(ws, enrollmentId);
        return b.deferrals.length > 0 && b.log.some((e) => e.kind === 'deferred') ? b : null;
      },
      20_000,
      'the deferral',
    );
    const expected = new Date(now);
    expected.setUTCHours(Math.floor(endMinute / 60), endMinute % 60, 0, 0);
    if (expected.getTime() <= now.getTime()) expected.setUTCDate(expected.getUTCDate() + 1);
    expect(body.deferrals).toEqual([
      {
        stepId: 'welcome',
        reason: 'quietHours',
        at: expect.any(String) as string,
        until: expected.toISOString(),
        resolvedAt: null,
      },
    ]);
    expect(Date.parse(body.deferrals[0]?.at ?? '')).toBeGreaterThanOrEqual(now.getTime() - 1000);
    expect(body.log.filter((e) => e.kind === 'deferred')).toEqual([
      expect.objectContaining({
        stepId: 'welcome',
        detail: { until: expected.getTime(), reason: 'quietHours' },
      }),
    ]);
    expect(body.status).toBe('active');
    expect(await mailboxOf(operator, email)).toEqual([]);

    // Another workspace cannot read the enrollment, deferrals included.
    const other = await createWorkspace(operator, `Other ${uniqueSuffix()}`);
    const foreign = await other.api.get(`/v1/enrollments/${encodeURIComponent(enrollmentId)}`);
    expect(foreign.status).toBe(404);
  });

  it('shows a send held by the frequency cap, and when the hold ended once it went', async () => {
    const ws = await createWorkspace(operator, `Capped ${uniqueSuffix()}`);
    // At most one marketing email per contact every 2 seconds.
    await engine.deps.prisma.messagingPolicy.create({
      data: { workspaceId: ws.id, frequencyCap: 1, frequencyPeriodSec: 2 },
    });
    const { enrollmentId, email } = await enrollOne(ws, [
      { id: 'first', type: 'sendEmail', template: 'welcome' },
      { id: 'second', type: 'sendEmail', template: 'tips' },
    ]);
    await waitForMail(operator, email, 2);
    const body = await eventually(
      async () => {
        const b = await enrollmentOf(ws, enrollmentId);
        return b.status === 'completed' ? b : null;
      },
      10_000,
      'the enrollment to complete',
    );
    const first = await engine.deps.prisma.emailMessage.findFirstOrThrow({
      where: { enrollmentId, stepId: 'first' },
    });
    const second = await engine.deps.prisma.emailMessage.findFirstOrThrow({
      where: { enrollmentId, stepId: 'second' },
    });
    expect(body.deferrals.length).toBeGreaterThanOrEqual(1);
    for (const d of body.deferrals) {
      expect(d).toMatchObject({ stepId: 'second', reason: 'frequencyCap' });
      // Planned for when the first email leaves the 2-second window.
      expect(Date.parse(d.until)).toBe(first.sentAt.getTime() + 2000);
      expect(d.resolvedAt).not.toBeNull();
    }
    // The hold ended when the second email went, not before its planned time.
    const last = body.deferrals.at(-1);
    expect(Date.parse(last?.resolvedAt ?? '')).toBe(second.sentAt.getTime());
    expect(second.sentAt.getTime()).toBeGreaterThanOrEqual(Date.parse(last?.until ?? ''));
    expect(
      body.log.filter((e) => e.kind === 'deferred').map((e) => [e.stepId, e.detail.reason]),
    ).toEqual(body.deferrals.map((d) => [d.stepId, d.reason]));
  });
});
