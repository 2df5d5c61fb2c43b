import pg from 'pg';
import { afterAll, beforeAll, inject } from 'vitest';
import { planOf } from '../../engine/index.js';
import { newId } from '../../store/index.js';
import type { JourneyWorkflowInput } from '../../workflows/index.js';
import { eventually, type startTestEngine } from './engine.js';
import type { ApiClient } from './http.js';

/**
 * The contact `userId` (identified through the API, at `<userId>@example.com`) and a pending
 * enrollment of it in the published journey `journeyKey`, as the API makes them before it
 * starts the workflow; with the workflow's input, for a test to start it as it needs.
 */
export async function pendingEnrollment(
  engine: Awaited<ReturnType<typeof startTestEngine>>,
  api: ApiClient,
  { userId, journeyKey, traits = {} }: PendingEnrollmentOptions,
): Promise<{ enrollmentId: string; input: JourneyWorkflowInput; email: string }> {
  const email = `${userId}@example.com`;
  await api.post('/v1/identify', { userId, traits: { email, ...traits } });
  const prisma = engine.deps.prisma;
  const contact = await prisma.contact.findFirstOrThrow({ where: { userId } });
  const version = await prisma.journeyVersion.findFirstOrThrow({
    where: { journey: { key: journeyKey } },
  });
  const enrollmentId = `enrollment/test/${userId}`;
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
  const input: JourneyWorkflowInput = {
    workspaceId: contact.workspaceId,
    journeyVersionId: version.id,
    contactId: contact.id,
    plan: planOf(version),
    trigger: { eventId: null, name: null, properties: {} },
  };
  return { enrollmentId, input, email };
}

export interface PendingEnrollmentOptions {
  readonly userId: string;
  readonly journeyKey: string;
  readonly traits?: Readonly<Record<string, unknown>>;
}

/**
 * A PostgreSQL connection of the tests' own, to hold row locks and transactions with while the
 * engine works: connected before the enclosing describe's tests, ended after them.
 */
export function lockHolder(): pg.Client {
  const held = new pg.Client({ connectionString: inject('postgresUrl') ?? '' });
  beforeAll(() => held.connect());
  afterAll(() => held.end().catch(() => undefined));
  return held;
}

/**
 * Takes the enrollment's row lock (`FOR NO KEY UPDATE`, in a transaction on `held`, until it
 * commits): the enrollment record's UPDATE then waits, while the send's own rows, which only
 * reference the enrollment, do not. PostgreSQL only.
 */
export async function holdEnrollmentRow(held: pg.Client, enrollmentId: string): Promise<void> {
  await held.query('BEGIN');
  await held.query('SELECT 1 FROM enrollments WHERE id = $1 FOR NO KEY UPDATE', [enrollmentId]);
}

/**
 * Resolves once a statement waits on a lock that `held` holds (`what` names it for a timeout).
 * Only waits behind `held` count: on the shared PostgreSQL database other test files' engines
 * wait on locks of their own. `statement`, when given, must occur in the waiting statement's
 * text (for a lock every engine's scorer also waits on, such as the score cursor's).
 */
export async function someoneWaitsOnALock(
  held: pg.Client,
  what: string,
  statement?: string,
): Promise<void> {
  await eventually(
    async () => {
      // `held` is in a transaction, where pg_stat_activity is read once and then kept: without
      // this, every poll saw the first one's activity and a wait that came later never showed.
      await held.query('SELECT pg_stat_clear_snapshot()');
      const [row] = (
        await held.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity
           WHERE datname = current_database() AND wait_event_type = 'Lock'
             AND pg_backend_pid() = ANY(pg_blocking_pids(pid))
             AND ($1::text IS NULL OR strpos(query, $1::text) > 0)`,
          [statement ?? null],
        )
      ).rows;
      return (row?.n ?? 0) > 0;
    },
    30_000,
    what,
  );
}
