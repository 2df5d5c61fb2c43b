import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEngine, uniqueSuffix } from '../support/engine.js';
import { apiClient, type ApiClient } from '../support/http.js';
import { waitForMail } from '../support/mailbox.js';

/**
 * A send over the frequency cap is deferred, never dropped: the workflow sleeps durably until
 * the cap frees a slot, logs why, and then sends it once.
 */
describe('deferred sends on Temporal', () => {
  let engine: Awaited<ReturnType<typeof startTestEngine>>;
  let api: ApiClient;
  beforeAll(async () => {
    engine = await startTestEngine('embedded');
    api = apiClient(engine);
    // This engine's own database: at most one marketing email per contact every 3 seconds.
    await engine.deps.prisma.messagingPolicy.create({
      data: { workspaceId: 'default', frequencyCap: 1, frequencyPeriodSec: 3 },
    });
  });
  afterAll(async () => {
    await engine?.cleanup();
  });

  it('holds the second email until the cap allows it, and logs the deferral', async () => {
    const s = uniqueSuffix();
    const published = await api.post('/v1/journeys', {
      id: `capped-${s}`,
      name: 'Two emails in a row',
      triggers: [{ type: 'event', event: `joined_${s}` }],
      steps: [
        { id: 'first', type: 'sendEmail', template: 'welcome' },
        { id: 'second', type: 'sendEmail', template: 'tips' },
      ],
    });
    expect(published.status, JSON.stringify(published.body)).toBe(201);
    const userId = `capped-${s}`;
    await api.post('/v1/identify', {
      userId,
      traits: { email: `${userId}@example.com`, firstName: 'Ava' },
    });
    const track = await api.post('/v1/track', { userId, event: `joined_${s}` });
    const enrollmentId =
      (track.body as { routing: { enrollments: { enrollmentId: string }[] } }).routing
        .enrollments[0]?.enrollmentId ?? '';

    const mails = await waitForMail(api, `${userId}@example.com`, 2, 30_000);
    const [second, first] = mails;
    expect(
      Date.parse(second?.receivedAt ?? '') - Date.parse(first?.receivedAt ?? ''),
    ).toBeGreaterThanOrEqual(2000);
    const enrollment = (await api.get(`/v1/enrollments/${encodeURIComponent(enrollmentId)}`))
      .body as {
      log: { kind: string; stepId: string; detail: { reason?: string } }[];
    };
    const deferrals = enrollment.log.filter((e) => e.kind === 'deferred');
    expect(deferrals.map((e) => [e.stepId, e.detail.reason])).toEqual([['second', 'frequencyCap']]);
  });
});
