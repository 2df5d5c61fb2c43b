import type { EnrollmentState, Input, Outcome } from './enrollment.js';
import { startState } from './enrollment.js';
import { decideEntry, type PastEnrollment } from './entry.js';
import { evaluate } from './evaluate.js';
import { EMAIL_ACTIVITY_EVENTS, type EmailActivity, type EventFacts, type Facts } from './facts.js';
import { advance } from './interpreter.js';
import { MinHeap } from './min-heap.js';
import type { PlanCondition } from './condition.js';
import type { Action, Plan } from './plan.js';
import {
  applyAction,
  applyUpdate,
  factsOf,
  type ContactUpdate,
  type SimContact,
} from './sim-contact.js';

export type { SimContact, ContactUpdate } from './sim-contact.js';

/**
 * Runs a plan over contacts and a timeline of events on a virtual clock, with the same
 * `advance` the workflow uses: a preview or backtest of a journey, and how long waits are
 * tested. Time jumps from one timer or event to the next, so months take milliseconds.
 * Deterministic: the same input always gives the same result.
 */
export interface SimEvent {
  readonly at: number;
  readonly contactId: string;
  /** A `track` event; omit for a pure contact update. `email.opened` / `email.clicked` with a
   * `step` property record what the contact did with that step's email. */
  readonly name?: string;
  readonly properties?: Readonly<Record<string, unknown>>;
  readonly update?: ContactUpdate;
}

export interface SimulationInput {
  readonly plan: Plan;
  readonly contacts: readonly SimContact[];
  readonly timeline?: readonly SimEvent[];
  readonly start: number;
  /** Default: a year after `start`. */
  readonly end?: number;
  /** HTTP status a webhook action gets; default 200. */
  readonly webhookStatus?: (action: Action & { type: 'webhook' }, contactId: string) => number;
  /** An error message to make an action fail for good (at virtual time `at`), or null. */
  readonly failAction?: (stepId: string, contactId: string, at: number) => string | null;
  /**
   * Whether an email step's send is suppressed at `at` (the address unsubscribed, bounced):
   * as live, the step moves on and the email does not count as sent.
   */
  readonly suppressEmail?: (stepId: string, contactId: string, at: number) => boolean;
  /**
   * Steps the whole simulation may take (default {@link MAX_STEPS}). A loop with a short wait
   * over a long window can take millions; past the budget the simulation stops where it is
   * and says when (`stoppedAt`), instead of holding the process that runs it.
   */
  readonly maxSteps?: number;
}

/** Steps a simulation takes at most unless told otherwise. */
export const MAX_STEPS = 1_000_000;

export interface SimulatedAction {
  readonly at: number;
  readonly contactId: string;
  readonly entryKey: string;
  readonly stepId: string;
  readonly iteration: number;
  readonly action: Action;
}

export interface SimulatedEnrollment {
  readonly contactId: string;
  readonly entryKey: string;
  readonly startedAt: number;
  /** Every step entered, in order, with the virtual time of entry. */
  readonly path: { readonly stepId: string; readonly at: number }[];
  outcome: Outcome | null;
  reason: string | null;
  endedAt: number | null;
  state: EnrollmentState;
}

export interface SimulationResult {
  readonly enrollments: readonly SimulatedEnrollment[];
  /** Every side effect, in virtual-time order. */
  readonly actions: readonly SimulatedAction[];
  /** Triggers that matched but were refused by the entry rules. */
  readonly refused: readonly {
    readonly contactId: string;
    readonly at: number;
    readonly reason: string;
  }[];
  /** The virtual time at which the step budget ran out, or null: the simulation reached its end. */
  readonly stoppedAt: number | null;
}

const EMAIL_EVENTS: Readonly<Record<string, EmailActivity>> = EMAIL_ACTIVITY_EVENTS;
/** Commands for one input before the simulator calls it a runaway enrollment. */
const MAX_COMMANDS_PER_INPUT = 10_000;
const YEAR_MS = 366 * 86_400_000;

interface Live {
  readonly record: SimulatedEnrollment;
  readonly emails: Map<string, EmailActivity[]>;
  /** Bumped on every new wait, so a superseded timer is ignored when it pops. */
  timer: number;
}

export function simulate(input: SimulationInput): SimulationResult {
  const { plan } = input;
  const end = input.end ?? input.start + YEAR_MS;
  const contacts = new Map(input.contacts.map((c) => [c.id, { ...c }]));
  const live = new Map<string, Live[]>();
  const enrollments: SimulatedEnrollment[] = [];
  const actions: SimulatedAction[] = [];
  const refused: { contactId: string; at: number; reason: string }[] = [];
  let budget = input.maxSteps ?? MAX_STEPS;
  let stoppedAt: number | null = null;
  const queue = new MinHeap<
    | { kind: 'event'; event: SimEvent }
    | { kind: 'timer'; enrollment: Live; timer: number }
    | { kind: 'schedule'; contactId: string; audience: PlanCondition | null }
  >();

  for (const c of input.contacts) {
    if (c.enrollAt !== undefined)
      queue.push(c.enrollAt, { kind: 'event', event: { at: c.enrollAt, contactId: c.id } });
  }
  // Condition triggers take a contact in when it starts to match, as on Temporal: one that
  // matches when the simulation starts enters then only with `enrollExisting`, as does one
  // already at the stage a lifecycleChange trigger goes `to` (the publish pass enrolls both).
  const conditions = plan.triggers.flatMap((t) => (t.type === 'condition' ? [t.condition] : []));
  const stages = plan.triggers.flatMap((t) =>
    t.type === 'lifecycleChange' && t.to !== null ? [t.to] : [],
  );
  const matching = new Set<string>();
  for (const c of input.contacts) {
    const facts = factsOf(c);
    const matches = conditions.some((condition) => evaluate(condition, facts, input.start));
    if (matches) matching.add(c.id);
    const stage = facts.lifecycleStage;
    const atStage = typeof stage === 'string' && stages.includes(stage);
    if ((matches || atStage) && plan.enrollment.enrollExisting)
      queue.push(input.start, { kind: 'event', event: { at: input.start, contactId: c.id } });
  }
  for (const e of [...(input.timeline ?? [])].sort((a, b) => a.at - b.at))
    queue.push(e.at, { kind: 'event', event: e });
  // A one-off schedule decides its audience when it fires, on the contacts as they are then
  // (as the live run does), not as they were when the simulation started.
  for (const t of plan.triggers) {
    if (t.type !== 'schedule' || t.at === null) continue;
    for (const c of input.contacts)
      queue.push(t.at, { kind: 'schedule', contactId: c.id, audience: t.audience });
  }

  while (stoppedAt === null && queue.size > 0 && (queue.peekAt() ?? Infinity) <= end) {
    const item = queue.pop();
    if (!item) break;
    if (item.value.kind === 'timer') {
      const { enrollment, timer } = item.value;
      if (enrollment.timer === timer && enrollment.record.outcome === null)
        drive(enrollment, { type: 'timerFired' }, item.at);
    } else if (item.value.kind === 'schedule') {
      const { contactId, audience } = item.value;
      if (!audience || evaluate(audience, currentFacts(contactId), item.at))
        onEvent({ at: item.at, contactId }, item.at);
    } else {
      onEvent(item.value.event, item.at);
    }
  }
  return { enrollments, actions: [...actions].sort((a, b) => a.at - b.at), refused, stoppedAt };

  function onEvent(event: SimEvent, now: number): void {
    const contact = contacts.get(event.contactId);
    if (!contact) return;
    const stageBefore = contact.lifecycleStage ?? null;
    if (event.update) contacts.set(contact.id, applyUpdate(contact, event.update));
    const mine = live.get(contact.id) ?? [];
    const facts: EventFacts | null =
      event.name === undefined ? null : { name: event.name, properties: event.properties ?? {} };
    if (facts) {
      recordEmailActivity(mine, facts);
      for (const e of mine)
        if (e.record.outcome === null) drive(e, { type: 'event', event: facts }, now);
    } else if (event.update) {
      // A contact change wakes enrollments that watch conditions.
      for (const e of mine)
        if (e.record.outcome === null)
          drive(e, { type: 'event', event: { name: '', properties: {} } }, now);
    } else {
      tryEnroll(contact.id, null, now);
      return;
    }
    if (triggeredBy(contact.id, facts, stageBefore, now)) tryEnroll(contact.id, facts, now);
  }

  /** Whether this event or change starts the journey for the contact, as routing decides. */
  function triggeredBy(
    contactId: string,
    facts: EventFacts | null,
    stageBefore: string | null,
    now: number,
  ): boolean {
    const current = currentFacts(contactId);
    const stage = current.lifecycleStage ?? null;
    const fired = plan.triggers.some((t) => {
      if (t.type === 'event')
        return (
          facts !== null &&
          t.event === facts.name &&
          (!t.filter || evaluate(t.filter, { ...current, event: facts.properties }, now))
        );
      if (t.type === 'webhook') {
        // A timeline event from an inbound webhook source carries it as routing sees it.
        const source = facts?.properties.$webhookSource;
        return (
          typeof source === 'string' &&
          source.trim().toLowerCase() === t.source.trim().toLowerCase() &&
          (!t.filter || evaluate(t.filter, { ...current, event: facts?.properties ?? {} }, now))
        );
      }
      if (t.type === 'lifecycleChange')
        return (
          stage !== stageBefore &&
          (t.from === null || t.from === stageBefore) &&
          (t.to === null || t.to === stage)
        );
      return false;
    });
    if (conditions.length === 0) return fired;
    // Kept up to date on every event, as `condition_matches` is, whether it enrolls or not.
    const matches = conditions.some((condition) => evaluate(condition, current, now));
    const started = matches && !matching.has(contactId);
    if (matches) matching.add(contactId);
    else matching.delete(contactId);
    return fired || started;
  }

  function tryEnroll(contactId: string, trigger: EventFacts | null, now: number): void {
    const mine = live.get(contactId) ?? [];
    const history: PastEnrollment[] = mine.map((e) => ({
      entryKey: e.record.entryKey,
      startedAt: e.record.startedAt,
      endedAt: e.record.endedAt,
    }));
    const decision = decideEntry(plan, { facts: currentFacts(contactId), trigger, history, now });
    if (!decision.enroll) {
      refused.push({ contactId, at: now, reason: decision.reason });
      return;
    }
    const state = startState({
      contactId,
      entryKey: decision.baseKey ?? decision.entryKey,
      trigger,
    });
    const record: SimulatedEnrollment = {
      contactId,
      entryKey: decision.entryKey,
      startedAt: now,
      path: [],
      outcome: null,
      reason: null,
      endedAt: null,
      state,
    };
    const enrollment: Live = { record, emails: new Map(), timer: 0 };
    enrollments.push(record);
    live.set(contactId, [...mine, enrollment]);
    drive(enrollment, { type: 'start' }, now);
  }

  /** Feeds one input and carries out commands until the enrollment waits or ends. */
  function drive(enrollment: Live, first: Input, now: number): void {
    const { record } = enrollment;
    let next: Input | null = first;
    for (let n = 0; next !== null; n++) {
      if (n >= MAX_COMMANDS_PER_INPUT) {
        Object.assign(record, { outcome: 'failed', reason: 'simulation-limit', endedAt: now });
        return;
      }
      if (budget-- <= 0) {
        stoppedAt ??= now;
        return;
      }
      const { state, command, entered } = advance(plan, record.state, next, now);
      record.state = state;
      for (const stepId of entered) record.path.push({ stepId, at: now });
      next = null;
      switch (command.type) {
        case 'loadFacts':
          next = {
            type: 'facts',
            facts: { ...currentFacts(record.contactId), emails: emailsOf(enrollment) },
          };
          break;
        case 'perform':
          next = perform(enrollment, command.stepId, command.iteration, command.action, now);
          break;
        case 'wait':
          enrollment.timer++;
          if (command.until !== null)
            queue.push(command.until, { kind: 'timer', enrollment, timer: enrollment.timer });
          break;
        case 'continue':
          break;
        case 'finish':
          record.outcome = command.outcome;
          record.reason = command.reason;
          record.endedAt = now;
          break;
      }
    }
  }

  function perform(
    enrollment: Live,
    stepId: string,
    iteration: number,
    action: Action,
    now: number,
  ): Input {
    const { contactId, entryKey } = enrollment.record;
    actions.push({ at: now, contactId, entryKey, stepId, iteration, action });
    const error = input.failAction?.(stepId, contactId, now) ?? null;
    if (error !== null) return { type: 'actionFailed', stepId, error };
    if (action.type === 'sendEmail' && input.suppressEmail?.(stepId, contactId, now))
      return { type: 'actionDone', stepId };
    const contact = contacts.get(contactId);
    if (contact) contacts.set(contactId, applyAction(contact, action));
    if (action.type === 'sendEmail') enrollment.emails.set(stepId, ['sent']);
    if (action.type === 'webhook')
      return {
        type: 'actionDone',
        stepId,
        status: input.webhookStatus?.(action, contactId) ?? 200,
      };
    return { type: 'actionDone', stepId };
  }

  function recordEmailActivity(mine: readonly Live[], event: EventFacts): void {
    const activity = EMAIL_EVENTS[event.name];
    const step = event.properties.step;
    if (!activity || typeof step !== 'string') return;
    for (const e of mine) {
      const seen = e.emails.get(step);
      if (seen && !seen.includes(activity)) seen.push(activity);
    }
  }

  function currentFacts(contactId: string): Facts {
    const contact = contacts.get(contactId);
    return contact ? factsOf(contact) : { contact: {} };
  }
}

function emailsOf(enrollment: Live): Record<string, readonly EmailActivity[]> {
  return Object.fromEntries(enrollment.emails);
}
