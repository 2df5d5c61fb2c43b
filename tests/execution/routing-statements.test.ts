import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingest, type IncomingMessage } from '../../engine/index.js';
import { markRouted, marksWritten } from '../../engine/mark-routed.js';
import { routeEvents } from '../../engine/route.js';
import { newId, type Sql } from '../../store/index.js';
import { databaseVariants, eventually, startTestEngine, uniqueSuffix } from '../support/engine.js';
import { apiClient } from '../support/http.js';

/**
 * What routing costs the database. A single track of a known contact is accepted and its contact
 * read in one statement. Routing ends by marking its events routed: routings that finish
 * together share the statement, and a request answering its caller (the single-event API) does
 * not wait for it.
 */
describe.each(databaseVariants())("routing's statements (%s database)", (variant) => {
  let engine: Awaited<ReturnType<typeof startTestEngine>>;
  const s = uniqueSuffix();

  beforeAll(async () => {
    engine = await startTestEngine(variant);
  });
  afterAll(async () => engine?.cleanup());

  /** Unrouted track events of one new contact, as accepting stores events a journey may want. */
  const unroutedEvents = async (count: number) => {
    const contactId = newId();
    await engine.deps.sql.query(
      `INSERT INTO contacts (id, workspace_id, user_id, updated_at) VALUES ($1, 'default', $2, now())`,
      [contactId, `u-${contactId}`],
    );
    const ids = Array.from({ length: count }, () => newId());
    for (const id of ids)
      await engine.deps.sql.query(
        `INSERT INTO events (id, workspace_id, message_id, type, name, contact_id, properties, timestamp, received_at)
         VALUES ($1, 'default', $1, 'track', $2, $3, '{}', now(), now())`,
        [id, `nothing_listens_${s}`, contactId],
      );
    return { contactId, ids };
  };
  /** One unrouted event, and the same as routing takes it. */
  const unroutedEvent = async () => {
    const { contactId, ids } = await unroutedEvents(1);
    const event = {
      id: ids[0] ?? '',
      workspaceId: 'default',
      type: 'track',
      name: `nothing_listens_${s}`,
      contactId,
      properties: {},
    };
    return { ids, event };
  };
  const routedAt = async (ids: readonly string[]) =>
    (
      await engine.deps.sql.query<{ routed_at: Date | null }>(
        `SELECT routed_at FROM events WHERE id = ANY($1::text[]) ORDER BY id`,
        [ids],
      )
    ).map((r) => r.routed_at);

  /** The engine's database, with the mark statement held until `release` and each mark counted. */
  const heldMarks = () => {
    const marks: unknown[][] = [];
    let release = () => {};
    const released = new Promise<void>((resolve) => (release = resolve));
    const sql: Sql = {
      query: async (text, params, options) => {
        if (options?.name === 'mark-routed') {
          marks.push([...(params ?? [])]);
          await released;
        }
        return engine.deps.sql.query(text, params, options);
      },
      transaction: (work) => engine.deps.sql.transaction(work),
    };
    return { sql, marks, release };
  };

  /** The engine's database, counting statements by name. */
  const counted = () => {
    const names: string[] = [];
    const sql: Sql = {
      query: (text, params, options) => {
        names.push(options?.name ?? 'unnamed');
        return engine.deps.sql.query(text, params, options);
      },
      transaction: (work) => engine.deps.sql.transaction(work),
    };
    return { sql, names };
  };
  const track = (userId: string, event: string): IncomingMessage => ({
    type: 'track',
    messageId: newId(),
    userId,
    anonymousId: null,
    event,
    traits: {},
    properties: {},
    timestamp: new Date(),
  });

  it('reads a known contact while accepting its track, enrollments included, and a new one after', async () => {
    const api = apiClient(engine);
    const event = `reads_${s}`;
    const published = await api.post('/v1/journeys', {
      id: `reads-${s}`,
      name: 'Reads',
      triggers: [{ type: 'event', event }],
      steps: [{ id: 'nap', type: 'wait', duration: 'P1D' }],
    });
    expect(published.status, JSON.stringify(published.body)).toBe(201);
    const known = `known-${s}`;
    expect((await api.post('/v1/identify', { userId: known, traits: {} })).status).toBe(200);

    const first = counted();
    const entered = await ingest(
      { ...engine.deps, sql: first.sql },
      'default',
      track(known, event),
    );
    expect(entered.routing?.enrollments).toMatchObject([{ enrolled: true }]);
    expect(first.names).toContain('accept-track-snapshot');
    expect(first.names).not.toContain('contact-snapshots');
    // The enrollment just made is in the snapshot read with the next track: the contact hears it
    // and is not enrolled twice.
    const again = counted();
    const repeat = await ingest({ ...engine.deps, sql: again.sql }, 'default', track(known, event));
    expect(repeat.routing).toMatchObject({ signalled: 1, enrollments: [{ enrolled: false }] });
    expect(again.names).not.toContain('contact-snapshots');

    const fresh = counted();
    const made = await ingest(
      { ...engine.deps, sql: fresh.sql },
      'default',
      track(`new-${s}`, event),
    );
    expect(made.routing?.enrollments).toMatchObject([{ enrolled: true }]);
    expect(fresh.names.filter((n) => n === 'contact-snapshots')).toHaveLength(1);
  });

  it('marks the events of routings that finish together in one statement', async () => {
    const [a, b] = [await unroutedEvents(1), await unroutedEvents(2)];
    const { sql, marks, release } = heldMarks();
    release();
    await Promise.all([markRouted(sql, a.ids), markRouted(sql, b.ids)]);
    expect(marks).toEqual([[[...a.ids, ...b.ids]]]);
    for (const at of await routedAt([...a.ids, ...b.ids])) expect(at).not.toBeNull();
  });

  it('answers a single event without waiting for its mark, which is written by shutdown at the latest', async () => {
    const { ids, event } = await unroutedEvent();
    const held = heldMarks();
    const routed = await routeEvents({ ...engine.deps, sql: held.sql }, [event], 'later');
    expect(routed.get(event.id)).toEqual({ enrollments: [], signalled: 0 });
    await eventually(() => held.marks.length === 1, 5_000, 'the mark statement');
    expect(await routedAt(ids)).toEqual([null]);
    held.release();
    await marksWritten();
    expect((await routedAt(ids))[0]).not.toBeNull();
  });

  it('waits for the mark when asked to, as re-routing after a restart does', async () => {
    const { ids, event } = await unroutedEvent();
    const held = heldMarks();
    let done = false;
    const routing = routeEvents({ ...engine.deps, sql: held.sql }, [event]).then(() => {
      done = true;
    });
    await eventually(() => held.marks.length === 1, 5_000, 'the mark statement');
    expect(done).toBe(false);
    held.release();
    await routing;
    expect((await routedAt(ids))[0]).not.toBeNull();
  });
});
