import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkspace } from '../api/workspaces.js';
import { databaseVariants, startTestEngine, uniqueSuffix } from '../support/engine.js';
import { apiClient, type ApiClient } from '../support/http.js';

/**
 * Identifies that give one new email to different contacts at the same moment: each found the
 * email free, and all but the first write failed on the unique index of emails with a 500 after
 * their contact was made. They now end as one after the other would: the first contact has the
 * email, the others keep theirs unset and are told `email-taken`. PostgreSQL only: the embedded
 * database runs one transaction at a time.
 */
describe.runIf(databaseVariants().includes('postgres'))('one email claimed at once', () => {
  let engine: Awaited<ReturnType<typeof startTestEngine>>;
  let api: ApiClient;
  beforeAll(async () => {
    engine = await startTestEngine('postgres');
    api = (await createWorkspace(apiClient(engine), `race-${uniqueSuffix()}`)).api;
  });
  afterAll(async () => engine?.cleanup());

  it('gives the email to one contact and tells the others it is taken', async () => {
    for (let round = 0; round < 5; round++) {
      const s = uniqueSuffix();
      const email = `shared-${s}@example.com`;
      const answers = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          api.post('/v1/identify', { userId: `claim-${i}-${s}`, traits: { email } }),
        ),
      );
      expect(
        answers.map((a) => a.status),
        JSON.stringify(answers.find((a) => a.status !== 200)?.body),
      ).toEqual(Array.from({ length: 8 }, () => 200));
      const holders = await engine.deps.prisma.contact.findMany({
        where: { userId: { startsWith: 'claim-', endsWith: s } },
        select: { userId: true, email: true },
      });
      expect(holders).toHaveLength(8);
      expect(holders.filter((h) => h.email === email)).toHaveLength(1);
      const warned = answers.filter(
        (a) => (a.body as { warning?: string }).warning === 'email-taken',
      );
      expect(warned).toHaveLength(7);
    }
  });
});
