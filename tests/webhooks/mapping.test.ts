import { describe, expect, it } from 'vitest';
import { applyMapping, type MappingResult } from '../../api/webhooks/mapping.js';

const fallback = { webhookId: 'msg_1', rawBody: Buffer.from('{}') };

function problemsOf(result: MappingResult) {
  return result.ok ? [] : result.problems.map((p) => ({ pointer: p.pointer, code: p.code }));
}

function trackOf(result: MappingResult) {
  if (!result.ok) throw new Error(`mapping failed: ${JSON.stringify(result.problems)}`);
  const track = result.messages.find((m) => m.type === 'track');
  if (!track) throw new Error('no track message');
  return track;
}

describe('webhook payload mapping', () => {
  describe('templates', () => {
    it('refuses a template whose pointer finds nothing, naming that pointer, instead of making up a value', () => {
      const mapping = { event: 'billing_{{/type}}', userId: 'stripe_{{/data/customer}}' };
      expect(problemsOf(applyMapping(mapping, { data: { customer: 'cus_1' } }, fallback))).toEqual([
        { pointer: '/type', code: 'required' },
      ]);
      expect(problemsOf(applyMapping(mapping, { type: 'paid', data: {} }, fallback))).toEqual([
        { pointer: '/data/customer', code: 'required' },
      ]);
    });

    it('refuses a template whose pointer finds an object, null or empty text', () => {
      const mapping = { event: 'paid', userId: 'stripe_{{/customer}}' };
      for (const customer of [{ id: 'cus_1' }, null, ''])
        expect(problemsOf(applyMapping(mapping, { customer }, fallback))).toEqual([
          { pointer: '/customer', code: 'required' },
        ]);
    });

    it('refuses a template in the traits or properties whose pointer finds nothing', () => {
      const mapping = {
        event: 'paid',
        userId: '/customer',
        traits: { plan: 'plan_{{/plan}}' },
        properties: { invoice: 'inv_{{/invoice}}' },
      };
      expect(problemsOf(applyMapping(mapping, { customer: 'cus_1' }, fallback))).toEqual([
        { pointer: '/plan', code: 'required' },
        { pointer: '/invoice', code: 'required' },
      ]);
    });

    it('fills in a template whose pointers all find text, numbers or booleans', () => {
      const result = applyMapping(
        { event: 'billing_{{/type}}', userId: 'stripe_{{/customer}}_{{/n}}_{{/live}}' },
        { type: 'paid', customer: 'cus_1', n: 7, live: true },
        fallback,
      );
      expect(trackOf(result)).toMatchObject({
        event: 'billing_paid',
        userId: 'stripe_cus_1_7_true',
      });
    });
  });

  describe('timestamps', () => {
    const mapping = { event: 'paid', userId: '/customer', timestamp: '/created' };
    const at = Date.UTC(2025, 5, 1, 9, 30, 15, 250);

    it('reads epoch seconds, epoch milliseconds (Date.now()) and ISO 8601 dates', () => {
      const seconds = Math.floor(at / 1000);
      const cases: [unknown, number][] = [
        [seconds, seconds * 1000],
        [String(seconds), seconds * 1000],
        [at, at],
        [String(at), at],
        [new Date(at).toISOString(), at],
      ];
      for (const [created, expected] of cases) {
        const track = trackOf(applyMapping(mapping, { customer: 'c', created }, fallback));
        expect(track.timestamp.getTime(), String(created)).toBe(expected);
      }
    });

    it('reads fractional epoch seconds', () => {
      const track = trackOf(
        applyMapping(mapping, { customer: 'c', created: 1748770215.25 }, fallback),
      );
      expect(track.timestamp.getTime()).toBe(1748770215250);
    });

    it('refuses dates before 1970 or after 9999, naming the pointer', () => {
      for (const created of [
        '1969-12-31T23:59:59Z',
        '+010000-01-01T00:00:00Z',
        253402300800000, // 10000-01-01 in milliseconds
        '9'.repeat(20),
      ])
        expect(
          problemsOf(applyMapping(mapping, { customer: 'c', created }, fallback)),
          String(created),
        ).toEqual([{ pointer: '/created', code: 'out-of-range' }]);
    });

    it('refuses text that is no date', () => {
      expect(
        problemsOf(applyMapping(mapping, { customer: 'c', created: 'yesterday' }, fallback)),
      ).toEqual([{ pointer: '/created', code: 'bad-format' }]);
    });
  });

  describe('who', () => {
    it('names the contact by email when the payload gives no user id', () => {
      const result = applyMapping(
        { event: 'form_submitted', email: '/email', userId: '/user' },
        { email: 'ana@example.com' },
        fallback,
      );
      expect(result).toMatchObject({ ok: true, byEmail: 'ana@example.com' });
    });

    it('names the contact by user id when the payload gives one, email or not', () => {
      const result = applyMapping(
        { event: 'form_submitted', email: '/email', userId: '/user' },
        { email: 'ana@example.com', user: 'u1' },
        fallback,
      );
      expect(result).toMatchObject({ ok: true, byEmail: null });
      expect(trackOf(result).userId).toBe('u1');
    });
  });
});
