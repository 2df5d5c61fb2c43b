import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dkimVerify } from 'mailauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../config/index.js';
import { startTestEngine, uniqueSuffix } from '../support/engine.js';
import { apiClient, type ApiClient } from '../support/http.js';
import { waitForMail } from '../support/mailbox.js';

const DOMAIN = 'news.example.com';
const SELECTOR = 'drumbeat2026';

/** A DNS that knows one record: the public key at `selector._domainkey.domain`. */
function dnsWith(publicKeyDer: Buffer) {
  return (name: string, rrtype: string): Promise<string[][]> =>
    rrtype === 'TXT' && name === `${SELECTOR}._domainkey.${DOMAIN}`
      ? Promise.resolve([[`v=DKIM1; k=rsa; p=${publicKeyDer.toString('base64')}`]])
      : Promise.reject(
          Object.assign(new Error(`queryTxt ENOTFOUND ${name}`), { code: 'ENOTFOUND' }),
        );
}

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig({ SECRET_KEY: 'k'.repeat(40), ...env });
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  return [];
}

/**
 * DKIM signing by Drumbeat itself: configured with DKIM_DOMAIN, DKIM_SELECTOR and a PEM key,
 * every message the engine sends carries a DKIM-Signature that a receiver's verifier (mailauth,
 * with the public key published as the TXT record) accepts, and that fails once the message is
 * altered. A half-configured or unusable key stops start-up with a message naming the variable.
 */
describe('DKIM signing', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const privatePem = rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const publicDer = rsa.publicKey.export({ type: 'spki', format: 'der' });
  let dir = '';
  let keyFile = '';

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'drumbeat-dkim-'));
    keyFile = join(dir, 'dkim.pem');
    await writeFile(keyFile, privatePem, { mode: 0o600 });
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  describe('configuration', () => {
    it('is off when no DKIM variable is set, and reads the key from text or from a file', () => {
      expect(loadConfig({ SECRET_KEY: 'k'.repeat(40) }).dkim).toBeNull();
      const fromFile = loadConfig({
        SECRET_KEY: 'k'.repeat(40),
        DKIM_DOMAIN: DOMAIN,
        DKIM_SELECTOR: SELECTOR,
        DKIM_PRIVATE_KEY_FILE: keyFile,
      }).dkim;
      expect(fromFile).toEqual({
        domainName: DOMAIN,
        keySelector: SELECTOR,
        privateKey: privatePem,
      });
      // One line with literal \n, as container platforms pass multi-line values.
      const inline = loadConfig({
        SECRET_KEY: 'k'.repeat(40),
        DKIM_DOMAIN: DOMAIN,
        DKIM_SELECTOR: SELECTOR,
        DKIM_PRIVATE_KEY: privatePem.replace(/\n/g, '\\n'),
      }).dkim;
      expect(inline?.privateKey.trim()).toBe(privatePem.trim());
    });

    it('refuses a domain without a key, naming what is missing', () => {
      expect(problemsOf({ DKIM_DOMAIN: DOMAIN, DKIM_SELECTOR: SELECTOR })).toEqual([
        'DKIM_PRIVATE_KEY (PEM text) or DKIM_PRIVATE_KEY_FILE is required for DKIM.',
      ]);
      expect(problemsOf({ DKIM_PRIVATE_KEY_FILE: keyFile }).join('\n')).toMatch(
        /DKIM_DOMAIN is required[\s\S]*DKIM_SELECTOR is required/,
      );
    });

    it('refuses a key file it cannot read', () => {
      const missing = join(dir, 'nope.pem');
      expect(
        problemsOf({
          DKIM_DOMAIN: DOMAIN,
          DKIM_SELECTOR: SELECTOR,
          DKIM_PRIVATE_KEY_FILE: missing,
        }),
      ).toEqual([`DKIM_PRIVATE_KEY_FILE=${missing} cannot be read (ENOENT).`]);
    });

    it('refuses text that is not a PEM private key, a public key, and a non-RSA key', () => {
      const base = { DKIM_DOMAIN: DOMAIN, DKIM_SELECTOR: SELECTOR };
      expect(problemsOf({ ...base, DKIM_PRIVATE_KEY: 'not a key' })[0]).toMatch(
        /^DKIM_PRIVATE_KEY is not a PEM private key/,
      );
      const publicPem = rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString();
      expect(problemsOf({ ...base, DKIM_PRIVATE_KEY: publicPem })[0]).toMatch(
        /^DKIM_PRIVATE_KEY is not a PEM private key/,
      );
      const broken = privatePem.replace(/[A-Za-z0-9+/]{40}/, 'A'.repeat(40));
      expect(problemsOf({ ...base, DKIM_PRIVATE_KEY: broken })[0]).toMatch(
        /^DKIM_PRIVATE_KEY is not a readable PEM private key/,
      );
      const ed = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' });
      expect(problemsOf({ ...base, DKIM_PRIVATE_KEY: ed.toString() })[0]).toMatch(
        /ed25519 key; DKIM signing here needs an RSA key/,
      );
      expect(
        problemsOf({ ...base, DKIM_PRIVATE_KEY: privatePem, DKIM_PRIVATE_KEY_FILE: keyFile }),
      ).toEqual(['Set DKIM_PRIVATE_KEY or DKIM_PRIVATE_KEY_FILE, not both.']);
      expect(
        problemsOf({ ...base, DKIM_DOMAIN: 'not a domain', DKIM_PRIVATE_KEY: privatePem }),
      ).toEqual(['DKIM_DOMAIN=not a domain is not a domain name such as example.com.']);
    });
  });

  describe('on the engine', () => {
    let engine: Awaited<ReturnType<typeof startTestEngine>>;
    let api: ApiClient;

    beforeAll(async () => {
      engine = await startTestEngine('embedded', {
        DKIM_DOMAIN: DOMAIN,
        DKIM_SELECTOR: SELECTOR,
        DKIM_PRIVATE_KEY_FILE: keyFile,
        MAIL_FROM: `Example News <hello@${DOMAIN}>`,
      });
      api = apiClient(engine);
    });
    afterAll(async () => {
      await engine?.cleanup();
    });

    it('signs a journey email so that a receiver verifies it, and an altered copy fails', async () => {
      const suffix = uniqueSuffix();
      const event = `joined_${suffix}`;
      const published = await api.post('/v1/journeys', {
        id: `dkim-${suffix}`,
        name: 'Signed welcome',
        triggers: [{ type: 'event', event }],
        steps: [{ id: 'welcome', type: 'sendEmail', template: 'welcome' }],
      });
      expect(published.status, JSON.stringify(published.body)).toBe(201);
      const email = `dkim.${suffix}@example.org`;
      await api.post('/v1/identify', {
        userId: `u-${suffix}`,
        traits: { email, firstName: 'Kim' },
      });
      await api.post('/v1/track', { userId: `u-${suffix}`, event });

      const [message] = await waitForMail(api, email);
      const raw = await (await api.request('GET', `/v1/mailbox/${message?.id ?? ''}/raw`)).text();
      expect(raw).toMatch(/^DKIM-Signature: /m);

      const resolver = dnsWith(publicDer);
      const verified = await dkimVerify(Buffer.from(raw), { resolver });
      expect(verified.results.map((r) => [r.status.result, r.signingDomain, r.selector])).toEqual([
        ['pass', DOMAIN, SELECTOR],
      ]);

      // The body changed in transit: the body hash no longer matches. mailauth reports that as
      // `neutral` with this comment (RFC 6376 6.3: verification failed, treat it as unsigned).
      const body = raw.replace(/Welcome, Kim!/, 'Welcome, Eve!');
      expect(body).not.toBe(raw);
      const bodyAltered = await dkimVerify(Buffer.from(body), { resolver });
      expect(bodyAltered.results.map((r) => [r.status.result, r.status.comment])).toEqual([
        ['neutral', 'body hash did not verify'],
      ]);

      // A signed header changed: the signature no longer matches.
      const subject = raw.replace(/^Subject: .*$/m, 'Subject: You won a prize');
      expect(subject).not.toBe(raw);
      const headerAltered = await dkimVerify(Buffer.from(subject), { resolver });
      expect(headerAltered.results.map((r) => r.status.result)).toEqual(['fail']);

      // Another key published under the selector: the signature does not verify with it.
      const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
      const wrongKey = await dkimVerify(Buffer.from(raw), {
        resolver: dnsWith(other.export({ type: 'spki', format: 'der' })),
      });
      expect(wrongKey.results.map((r) => r.status.result)).toEqual(['fail']);
    });

    it('signs List-Unsubscribe-Post with List-Unsubscribe, as RFC 8058 section 4 requires', async () => {
      const suffix = uniqueSuffix();
      const event = `subscribed_${suffix}`;
      const published = await api.post('/v1/journeys', {
        id: `dkim-one-click-${suffix}`,
        name: 'Signed newsletter',
        triggers: [{ type: 'event', event }],
        steps: [{ id: 'welcome', type: 'sendEmail', template: 'welcome' }],
      });
      expect(published.status, JSON.stringify(published.body)).toBe(201);
      const email = `one-click.${suffix}@example.org`;
      await api.post('/v1/identify', { userId: `u-${suffix}`, traits: { email } });
      await api.post('/v1/track', { userId: `u-${suffix}`, event });

      const [message] = await waitForMail(api, email);
      const raw = await (await api.request('GET', `/v1/mailbox/${message?.id ?? ''}/raw`)).text();
      const unfolded = raw.replace(/\r\n[ \t]+/g, ' ');
      expect(unfolded).toMatch(/^List-Unsubscribe-Post: List-Unsubscribe=One-Click\r?$/m);
      const signature = /^DKIM-Signature: (.*)$/m.exec(unfolded)?.[1] ?? '';
      const signed = (/\bh=([^;]+)/.exec(signature)?.[1] ?? '')
        .split(':')
        .map((h) => h.trim().toLowerCase());
      expect(signed).toEqual(expect.arrayContaining(['list-unsubscribe', 'list-unsubscribe-post']));

      // A one-click header added or changed on the way no longer verifies.
      const resolver = dnsWith(publicDer);
      const verified = await dkimVerify(Buffer.from(raw), { resolver });
      expect(verified.results.map((r) => r.status.result)).toEqual(['pass']);
      const altered = raw.replace(
        /^List-Unsubscribe-Post: .*$/m,
        'List-Unsubscribe-Post: List-Unsubscribe=Nope',
      );
      expect(altered).not.toBe(raw);
      const alteredResult = await dkimVerify(Buffer.from(altered), { resolver });
      expect(alteredResult.results.map((r) => r.status.result)).toEqual(['fail']);
    });
  });
});
