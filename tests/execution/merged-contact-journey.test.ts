import { describe, expect, it } from 'vitest';
import { engineWithCapture } from '../mail/support.js';
import { databaseVariants, eventually, uniqueSuffix } from '../support/engine.js';
import { apiClient } from '../support/http.js';

/**
 * A visitor enrolled in a journey identifies as a known contact while the journey waits: the
 * merge moves the enrollment to the contact that stays, but the running workflow keeps the id
 * it started with. Its next steps act on the contact that stays (the email goes out to the
 * merged address) instead of failing with "the contact no longer exists".
 */
describe.each(databaseVariants())('a journey whose contact is merged away (%s)', (variant) => {
  const suite = engineWithCapture(variant);

  it('goes on with the contact that stays: the wait hears its events, the email goes out', async () => {
    const api = apiClient(suite.engine);
    const s = uniqueSuffix();
    const published = await api.post('/v1/journeys', {
      id: `merge-wait-${s}`,
      name: 'Waits, then mails',
      triggers: [{ type: 'event', event: `downloaded_${s}` }],
      steps: [
        {
          id: 'wait-go',
          type: 'waitForEvent',
          event: `go_${s}`,
          timeout: 'PT1H',
          onTimeout: 'gave-up',
          next: 'mail',
        },
        { id: 'gave-up', type: 'exit' },
        { id: 'mail', type: 'sendEmail', template: 'welcome' },
      ],
    });
    expect(published.status, JSON.stringify(published.body)).toBe(201);

    const anonymousId = `anon-${s}`;
    const email = `visitor.${s}@example.com`;
    const userId = `known-${s}`;
    // The known contact exists first; the visitor leaves an address and enters the journey.
    expect((await api.post('/v1/identify', { userId, traits: { firstName: 'Ada' } })).status).toBe(
      200,
    );
    expect((await api.post('/v1/identify', { anonymousId, traits: { email } })).status).toBe(200);
    expect((await api.post('/v1/track', { anonymousId, event: `downloaded_${s}` })).status).toBe(
      200,
    );
    const prisma = suite.engine.deps.prisma;
    const visitor = await prisma.contact.findFirstOrThrow({
      where: { anonymousIds: { has: anonymousId } },
    });
    const enrollment = await eventually(
      () => prisma.enrollment.findFirst({ where: { contactId: visitor.id, status: 'active' } }),
      20_000,
      'the visitor waiting in the journey',
    );

    // The visitor identifies as the known contact: merged into it.
    expect((await api.post('/v1/identify', { userId, anonymousId })).status).toBe(200);
    const known = await prisma.contact.findFirstOrThrow({ where: { userId } });
    expect(known.id).not.toBe(visitor.id);
    expect(await prisma.contact.findUnique({ where: { id: visitor.id } })).toBeNull();
    expect(
      (await prisma.enrollment.findUniqueOrThrow({ where: { id: enrollment.id } })).contactId,
    ).toBe(known.id);

    expect((await api.post('/v1/track', { userId, event: `go_${s}` })).status).toBe(200);
    const arrived = await suite.capture.waitFor(email);
    expect(arrived).toHaveLength(1);
    const ended = await eventually(
      async () => {
        const row = await prisma.enrollment.findUniqueOrThrow({ where: { id: enrollment.id } });
        return row.status === 'active' || row.status === 'pending' ? null : row;
      },
      20_000,
      'the enrollment to end',
    );
    expect(ended.status).toBe('completed');
  });
});
