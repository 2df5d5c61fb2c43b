import {
  ActivityFailure,
  ApplicationFailure,
  condition,
  continueAsNew,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  TimeoutFailure,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities, ClosingRecord, LogEntry } from '../activities/index.js';
import {
  advance,
  assertNever,
  startState,
  type Command,
  type Decision,
  type EnrollmentState,
  type Input,
  type Outcome,
  type Plan,
} from '../core/index.js';
import {
  contactEventSignal,
  exitSignal,
  pauseSignal,
  resumeSignal,
  stateQuery,
  type ContactEvent,
} from './messages.js';

export interface JourneyWorkflowInput {
  readonly workspaceId: string;
  readonly journeyVersionId: string;
  readonly contactId: string;
  /** The compiled plan of the pinned version: the enrollment never sees a later edit. */
  readonly plan: Plan;
  readonly trigger: {
    readonly eventId: string | null;
    readonly name: string | null;
    readonly properties: Readonly<Record<string, unknown>>;
  };
  /** The entry key this enrollment was started under (see the plan's entry rules). */
  readonly entryKey?: string | null;
  /** Where a previous run of this enrollment left off (continue-as-new). */
  readonly resume?: ResumePoint;
  /** History length at which to continue as new (tests lower it; default below). */
  readonly historyLimit?: number;
}

interface ResumePoint {
  readonly state: EnrollmentState;
  readonly command: Settled;
  readonly seenEventIds: readonly string[];
  readonly logSeq: number;
  readonly paused: boolean;
  /**
   * Events heard but not used yet (carried from an action, or come in while the run wrote its
   * log before continuing as new): already in `seenEventIds`, so only this keeps them.
   */
  readonly pendingEvents?: readonly ContactEvent[];
  /** An exit that came while the run wrote its log before continuing as new: the next run ends. */
  readonly exitReason?: string;
}

export interface JourneyWorkflowResult {
  readonly outcome: Outcome;
  readonly reason: string | null;
}

/**
 * Activities: 30 s per attempt, retried with backoff for up to a day (SMTP outages, database
 * restarts); then the step's failure rule applies. Each side effect is idempotent by
 * (enrollment, step, iteration), so a retry after a timeout or a worker crash cannot repeat it.
 */
const retried = {
  startToCloseTimeout: '30 seconds',
  scheduleToCloseTimeout: '1 day',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '5 minutes' },
} as const;
const { performAction, recordEnrollment, loadFacts } = proxyActivities<Activities>(retried);

/**
 * The enrollment's own record (status, step, log) and the contact's facts are a database
 * statement or two each: as local activities the worker runs them inside the workflow task,
 * which spares the server a task dispatch, start, completion and the workflow task after it.
 * Same timeouts and retries; a local activity runs again when the worker dies before the
 * workflow task completes, which both allow (facts are read-only; the record is keyed by
 * enrollment and log seq, see recordEnrollment).
 */
const local = proxyLocalActivities<Activities>(retried);

/** Histories from before the change keep scheduling these as regular activities on replay. */
function bookkeeping(hasChange: HasChange): Pick<Activities, 'recordEnrollment' | 'loadFacts'> {
  return hasChange('bookkeeping-as-local-activities')
    ? { recordEnrollment: local.recordEnrollment, loadFacts: local.loadFacts }
    : { recordEnrollment, loadFacts };
}

/**
 * Actions (a send, a task, a webhook) run as local activities too: a one-email journey is then a
 * single workflow task instead of two around a dispatched activity, and a wait that an event
 * ends sends its next email within the workflow task the signal starts. Exactly once does not
 * rest on Temporal's dispatch: each action is keyed by (enrollment, step, iteration) and
 * recorded (activities/side-effects.ts), so the re-run after a worker dies finds the record.
 * A retry whose backoff is longer than the worker's local retry threshold waits on a durable
 * timer. Histories from before keep the regular activity on replay.
 */
function actions(hasChange: HasChange): Pick<Activities, 'performAction'> {
  return hasChange('actions-as-local-activities')
    ? { performAction: local.performAction }
    : { performAction };
}

/**
 * Why an activity failed for good, or null for an error that is not an activity's. A regular
 * activity's failure comes wrapped in an `ActivityFailure`; a local activity's arrives as its
 * cause, so only a call known to be an activity reads it ({@link ActionFailed}).
 */
function activityFailure(error: unknown, local: boolean): string | null {
  if (error instanceof ActivityFailure) return error.cause?.message ?? error.message;
  if (local && (error instanceof ApplicationFailure || error instanceof TimeoutFailure))
    return error.message;
  return null;
}

/** The step's action failed for good: its failure rule applies. */
class ActionFailed extends Error {}

type Settled = Exclude<Command, { type: 'loadFacts' | 'continue' }>;
type Perform = Extract<Command, { type: 'perform' }>;

/** A journey's end, planned before its last action, for that action's activity to write. */
interface Closing {
  /** The enrollment's state once the action is done. */
  readonly state: EnrollmentState;
  readonly record: ClosingRecord & { readonly status: Outcome };
}

/** Event ids remembered for deduplication; older repeats are long past any retry window. */
const SEEN_EVENTS_KEPT = 1000;
/** Start a fresh history well before Temporal's limits, at a wait (a safe point). */
const HISTORY_EVENTS_BEFORE_CONTINUE = 5000;

/**
 * Whether a run has a behaviour change, by its patch id: `patched()` for runs of the first
 * workflow type, every change up to its own for runs of {@link journeyWorkflowV2}, every change
 * for runs of {@link journeyWorkflowV3}.
 */
type HasChange = (patchId: string) => boolean;

/**
 * A journey's last action writes the enrollment's end (status and log) in its own activity,
 * after the action is done: a one-email journey is then one local activity instead of two, and
 * one workflow activation fewer. Runs of {@link journeyWorkflowV2} never have it.
 */
const CLOSE_WITH_LAST_ACTION = 'close-with-last-action';

/**
 * A send held back (the journey paused, quiet hours, a frequency cap) hears the contact's events
 * while it waits: a goal or exit condition they meet ends the enrollment before the email goes,
 * and a pause that comes during a deferral holds it. Without this, events waited in the inbox
 * until after the send. Runs of {@link journeyWorkflowV3} and earlier types never have it.
 */
const HOLDS_HEAR_EVENTS = 'holds-hear-events';

/**
 * A wait whose deadline passed before the worker heard the events that ended it (the worker was
 * down or behind when its timer fired, and both came in one activation) decides as it would
 * have on time: events the API accepted before the deadline count, then the wait times out, and
 * events accepted after it are left for the steps that follow. Without this, an order placed
 * after a three-day window took the "ordered" path. Runs of {@link journeyWorkflowV4} and earlier
 * types never have it.
 */
const LATE_EVENTS_AFTER_DEADLINE = 'late-events-after-deadline';

/**
 * The contact's facts leave out tags and lists it has none of (the `loadFacts` activity is asked
 * to), so `exists` on `tags` holds only for a contact with a tag. Facts of runs without it keep
 * the empty lists, which conditions read as values, as they did: an older worker replaying a run
 * decides as the run did. Runs of {@link journeyWorkflowV5} and earlier types never have it.
 */
const FACTS_LEAVE_OUT_EMPTY_LISTS = 'facts-leave-out-empty-lists';

/**
 * The type the API starts since {@link FACTS_LEAVE_OUT_EMPTY_LISTS}: every change, without
 * asking. A new type for the reason given at V2 (an older worker does not run it).
 */
export async function journeyWorkflowV6(
  input: JourneyWorkflowInput,
): Promise<JourneyWorkflowResult> {
  return runJourney(input, () => true);
}

/**
 * The type the API started from {@link LATE_EVENTS_AFTER_DEADLINE} to
 * {@link FACTS_LEAVE_OUT_EMPTY_LISTS}: {@link journeyWorkflowV4} with the first change.
 */
export async function journeyWorkflowV5(
  input: JourneyWorkflowInput,
): Promise<JourneyWorkflowResult> {
  return runJourney(input, (patchId) => patchId !== FACTS_LEAVE_OUT_EMPTY_LISTS);
}

/**
 * The type the API started from {@link HOLDS_HEAR_EVENTS} to {@link LATE_EVENTS_AFTER_DEADLINE}:
 * {@link journeyWorkflowV3} with the first change, without asking.
 */
export async function journeyWorkflowV4(
  input: JourneyWorkflowInput,
): Promise<JourneyWorkflowResult> {
  return runJourney(
    input,
    (patchId) => patchId !== LATE_EVENTS_AFTER_DEADLINE && patchId !== FACTS_LEAVE_OUT_EMPTY_LISTS,
  );
}

/**
 * The type the API started from {@link CLOSE_WITH_LAST_ACTION} to {@link HOLDS_HEAR_EVENTS}:
 * {@link journeyWorkflowV2} with the first change, without asking.
 */
export async function journeyWorkflowV3(
  input: JourneyWorkflowInput,
): Promise<JourneyWorkflowResult> {
  return runJourney(
    input,
    (patchId) =>
      patchId !== HOLDS_HEAR_EVENTS &&
      patchId !== LATE_EVENTS_AFTER_DEADLINE &&
      patchId !== FACTS_LEAVE_OUT_EMPTY_LISTS,
  );
}

/**
 * One contact's way through one journey version: what the API starts for each enrollment.
 * Its runs have every change up to `workflow-sleeps-on-deferred-sends` without asking, where
 * `patched()` would record a marker and upsert the `TemporalChangeVersion` search attribute
 * for each (the recorded welcome series is 14 events instead of 20), and none after. This is a
 * new type rather than a flag in the input because a worker that lacks it leaves its runs to one
 * that has it, while an older worker given a flag it does not know would record markers that
 * this code does not ask for, and replay would then fail.
 */
export async function journeyWorkflowV2(
  input: JourneyWorkflowInput,
): Promise<JourneyWorkflowResult> {
  return runJourney(
    input,
    (patchId) =>
      patchId !== CLOSE_WITH_LAST_ACTION &&
      patchId !== HOLDS_HEAR_EVENTS &&
      patchId !== LATE_EVENTS_AFTER_DEADLINE &&
      patchId !== FACTS_LEAVE_OUT_EMPTY_LISTS,
  );
}

/**
 * The first type, for enrollments started before {@link journeyWorkflowV2}: their histories
 * decide each change through `patched()`, as they did when they ran.
 */
export async function journeyWorkflow(input: JourneyWorkflowInput): Promise<JourneyWorkflowResult> {
  // Changes after the types that have them without asking are theirs alone.
  return runJourney(
    input,
    (patchId) => patchId !== FACTS_LEAVE_OUT_EMPTY_LISTS && patched(patchId),
  );
}

/**
 * A thin shell around the pure interpreter: it carries out the interpreter's commands
 * (activities, durable waits, fact loads), feeds back what happened and logs it. Contact events
 * arrive as signals, each id once; an exit signal ends any wait at once; a pause holds the
 * enrollment before its next action. Continuing as new keeps the run's type.
 */
async function runJourney(
  input: JourneyWorkflowInput,
  hasChange: HasChange,
): Promise<JourneyWorkflowResult> {
  const enrollmentId = workflowInfo().workflowId;
  const { plan, contactId, workspaceId, resume } = input;
  const inbox: ContactEvent[] = [];
  /** Events heard during actions that nothing used yet: offered to the next wait. */
  const carried: ContactEvent[] = [...(resume?.pendingEvents ?? [])];
  const seen = new Set<string>(resume?.seenEventIds ?? []);
  const log: LogEntry[] = [];
  let seq = resume?.logSeq ?? 0;
  let exitReason: string | null = resume?.exitReason ?? null;
  let paused = resume?.paused ?? false;
  const trigger =
    input.trigger.name === null
      ? null
      : { name: input.trigger.name, properties: input.trigger.properties };
  let state = resume?.state ?? startState({ contactId, entryKey: input.entryKey ?? null, trigger });

  setHandler(stateQuery, () => ({ state, paused, eventsHeard: seen.size }));
  setHandler(exitSignal, ({ reason }) => void (exitReason ??= reason));
  setHandler(pauseSignal, () => void (paused = true));
  setHandler(resumeSignal, () => void (paused = false));
  setHandler(contactEventSignal, (event) => {
    if (seen.has(event.id)) return;
    seen.add(event.id);
    if (seen.size > SEEN_EVENTS_KEPT) seen.delete(seen.values().next().value ?? '');
    inbox.push(event);
  });

  /**
   * A run that continued as new begins at the wait where the last one stopped, and waits there:
   * its history is a few events long, so continuing again at once would only loop (with a low
   * `historyLimit`, as in tests).
   */
  let resumedAtWait = resume !== undefined;
  let command: Settled = resume?.command ?? (await feed({ type: 'start' }, null));
  for (;;) {
    if (exitReason !== null) return finish('exited', state.stepId, exitReason);
    switch (command.type) {
      case 'finish':
        return finish(command.outcome, command.stepId, command.reason);
      case 'perform': {
        if (paused) {
          command = (await hold(command)) ?? command;
          break;
        }
        const done = await perform(command);
        // An event heard while the send was held changed the course (a goal met): no send.
        if ('redirect' in done) {
          command = done.redirect;
          break;
        }
        if (done.closed) return closedByAction(command, done.closed);
        // Events that came in during the action go first: a goal met meanwhile ends it here.
        command = (await drainInbox(command)) ?? (await feed(done.input, command));
        break;
      }
      case 'wait': {
        const justResumed = resumedAtWait;
        resumedAtWait = false;
        if (
          !justResumed &&
          (workflowInfo().historyLength > (input.historyLimit ?? HISTORY_EVENTS_BEFORE_CONTINUE) ||
            workflowInfo().continueAsNewSuggested)
        ) {
          await flush('active', command.stepId);
          // Only the next run's input changes (replay does not compare it), so no patch: a
          // history that dropped these events or an exit still replays.
          const pendingEvents = [...carried, ...inbox];
          return continueAsNew<typeof journeyWorkflow>({
            ...input,
            resume: {
              state,
              command,
              seenEventIds: [...seen],
              logSeq: seq,
              paused,
              ...(pendingEvents.length > 0 ? { pendingEvents } : {}),
              ...(exitReason !== null ? { exitReason } : {}),
            },
          });
        }
        // An event that came while an action ran (a task completed right after it was created)
        // still counts for the wait that follows.
        if (carried.length > 0) inbox.unshift(...carried.splice(0));
        note('wait', command.stepId, { until: command.until, listensFor: command.wakeOn.events });
        await flush('active', command.stepId);
        const timeout =
          command.until === null ? undefined : Math.max(1, command.until - Date.now());
        const woke = await condition(() => inbox.length > 0 || exitReason !== null, timeout);
        if (exitReason !== null) break;
        if (
          woke &&
          command.until !== null &&
          Date.now() >= command.until &&
          hasChange(LATE_EVENTS_AFTER_DEADLINE)
        ) {
          command = await pastDeadline(command, command.until);
          break;
        }
        if (!woke) note('woke', command.stepId, { by: 'timer', planned: command.until });
        command = woke
          ? ((await drainInbox(command)) ?? command)
          : await feed({ type: 'timerFired' }, command);
        break;
      }
      default:
        return assertNever(command, 'command');
    }
  }

  /** Advances with one input, answering `loadFacts` inline; `continue` keeps `current`. */
  async function feed(first: Input, current: Settled | null): Promise<Settled> {
    let next: Input = first;
    for (;;) {
      const transition = advance(plan, state, next, Date.now());
      state = transition.state;
      noteTrail(transition.entered, transition.decisions);
      const { command: c } = transition;
      if (c.type === 'loadFacts') {
        next = {
          type: 'facts',
          facts: await bookkeeping(hasChange).loadFacts({
            workspaceId,
            contactId,
            enrollmentId,
            ...(hasChange(FACTS_LEAVE_OUT_EMPTY_LISTS) ? { emptyLists: 'leave-out' as const } : {}),
          }),
        };
        continue;
      }
      if (c.type === 'continue') {
        if (current) return current;
        throw new Error('The interpreter had nothing to do at the start of an enrollment.');
      }
      return c;
    }
  }

  /**
   * A wait heard its events only after its deadline ({@link LATE_EVENTS_AFTER_DEADLINE}): those
   * accepted before the deadline are fed first; if none moved the wait on, it times out, and the
   * events accepted after it stay queued for the steps that follow.
   */
  async function pastDeadline(wait: Settled, until: number): Promise<Settled> {
    const late = inbox.filter((e) => (acceptedAt(e) ?? -Infinity) >= until);
    const inTime = inbox.filter((e) => !late.includes(e));
    inbox.splice(0, inbox.length, ...inTime);
    const changed = await drainInbox(wait);
    inbox.push(...late);
    if (changed) return changed;
    note('woke', wait.stepId, { by: 'timer', planned: until });
    return feed({ type: 'timerFired' }, wait);
  }

  /** Feeds queued events the current step may care about; returns the new command if any changed it. */
  async function drainInbox(current: Settled): Promise<Settled | null> {
    let changed: Settled | null = null;
    while (inbox.length > 0) {
      const event = inbox.shift();
      if (!event) break;
      const now: Settled = changed ?? current;
      const wakeOn = now.type === 'wait' ? now.wakeOn : null;
      if (wakeOn && !wakeOn.anyChange && !wakeOn.events.includes(event.name)) continue;
      note('event', state.stepId, { id: event.id, name: event.name });
      const next = await feed(
        { type: 'event', event: { name: event.name, properties: event.properties } },
        now,
      );
      if (next === now && now.type === 'perform' && hasChange('carry-events-across-actions'))
        carried.push(event);
      if (next !== now) changed = next;
      if (next.type === 'finish' || next.type === 'perform') return next;
    }
    return changed;
  }

  /**
   * Carries out the action. `closed` is the enrollment's end when the action's activity wrote
   * it too ({@link closingAfter}), which only a done action does.
   */
  async function perform(
    command: Perform,
  ): Promise<{ input: Input; closed: Closing | null } | { redirect: Settled }> {
    try {
      const deferrable = hasChange('workflow-sleeps-on-deferred-sends');
      // Planned anew for each attempt: a deferral logs an entry, which moves the numbering.
      let closing = closingAfter(command);
      let result = await attempt(command, deferrable, closing);
      // Quiet hours or a frequency cap hold the send: sleep durably to the allowed moment and
      // try again with the same key. An exit meanwhile ends the enrollment without sending.
      while (result.type === 'sendEmail' && result.result.status === 'deferred') {
        const { until, reason } = result.result;
        note('deferred', command.stepId, { until, reason });
        await flush('active', command.stepId);
        const hears = hasChange(HOLDS_HEAR_EVENTS);
        const exited = {
          input: { type: 'actionFailed', stepId: command.stepId, error: 'exited' },
          closed: null,
        } as const;
        for (;;) {
          const woke = await condition(
            () => exitReason !== null || (hears && inbox.length > 0),
            Math.max(1, until - Date.now()),
          );
          if (exitReason !== null) return exited;
          if (!woke) break;
          // A contact event while the send waits: a goal or exit it meets ends it here.
          const changed = await drainInbox(command);
          if (changed) return { redirect: changed };
        }
        if (hears && paused) {
          const held = await hold(command);
          if (exitReason !== null) return exited;
          if (held) return { redirect: held };
        }
        closing = closingAfter(command);
        result = await attempt(command, deferrable, closing);
      }
      if (result.closed && closing)
        return { input: { type: 'actionDone', stepId: command.stepId }, closed: closing };
      note('action', command.stepId, { ...actionDetail(command), result });
      const status =
        'status' in result && typeof result.status === 'number' ? result.status : undefined;
      return {
        input: {
          type: 'actionDone',
          stepId: command.stepId,
          ...(status === undefined ? {} : { status }),
        },
        closed: null,
      };
    } catch (error) {
      const message = error instanceof ActionFailed ? error.message : activityFailure(error, false);
      if (message === null) throw error;
      note('actionFailed', command.stepId, { action: command.action.type, error: message });
      return {
        input: { type: 'actionFailed', stepId: command.stepId, error: message },
        closed: null,
      };
    }
  }

  async function attempt(command: Perform, deferrable: boolean, closing: Closing | null) {
    try {
      return await actions(hasChange).performAction({
        workspaceId,
        enrollmentId,
        contactId,
        stepId: command.stepId,
        iteration: command.iteration,
        action: command.action,
        trigger: input.trigger,
        ...(deferrable ? { deferrable: true } : {}),
        ...(closing ? { closing: closing.record } : {}),
      });
    } catch (error) {
      const message = activityFailure(error, true);
      if (message === null) throw error;
      throw new ActionFailed(message);
    }
  }

  /**
   * When the action's success leads straight to the journey's end, that end, planned: the pure
   * interpreter is asked now what `actionDone` will do, and the entries it would log follow
   * the action's own, all numbered as the run would number them after the action.
   * Not for webhooks, whose HTTP status can choose the next step, nor when events or an exit
   * are already waiting.
   */
  function closingAfter(command: Perform): Closing | null {
    if (command.action.type === 'webhook' || !hasChange(CLOSE_WITH_LAST_ACTION)) return null;
    // Events or an exit already heard decide the end after the action: nothing to plan.
    if (inbox.length > 0 || exitReason !== null) return null;
    const transition = advance(
      plan,
      state,
      { type: 'actionDone', stepId: command.stepId },
      Date.now(),
    );
    const end = transition.command;
    if (end.type !== 'finish') return null;
    const [pending, seqBefore] = [log.length, seq];
    // The action's entry lacks its result, which the activity adds once it has one.
    const action = note('action', command.stepId, actionDetail(command));
    noteTrail(transition.entered, transition.decisions);
    note('finished', end.stepId, { outcome: end.outcome, reason: end.reason });
    const after = log.splice(pending).slice(1);
    seq = seqBefore;
    return {
      state: transition.state,
      record: {
        enrollmentId,
        status: end.outcome,
        stepId: end.stepId,
        reason: end.reason,
        before: [...log],
        action,
        after,
      },
    };
  }

  /**
   * The last action's activity wrote the enrollment's end: the run takes the planned state and
   * ends. An exit or event that came in while the action ran is judged as before, at the
   * action's step, after the written entries; an end it reaches (a goal met, an exit) is
   * written over the planned one.
   */
  async function closedByAction(
    command: Perform,
    closing: Closing,
  ): Promise<JourneyWorkflowResult> {
    log.length = 0;
    seq = closing.record.after.at(-1)?.seq ?? closing.record.action.seq;
    const { status: outcome, stepId, reason } = closing.record;
    if (exitReason !== null) return finish('exited', state.stepId, exitReason);
    const changed = inbox.length > 0 ? await drainInbox(command) : null;
    // An exit heard while the events were judged (a goal's facts loading) ends it too.
    if (exitReason !== null) return finish('exited', state.stepId, exitReason);
    if (changed?.type === 'finish') return finish(changed.outcome, changed.stepId, changed.reason);
    state = closing.state;
    if (log.length > 0) await flush(outcome, stepId, reason);
    return { outcome, reason };
  }

  /**
   * Holds before an action while the journey is paused. With {@link HOLDS_HEAR_EVENTS}, the
   * contact's events are judged as they come: the command they change to (a goal met, the
   * journey's end) is returned, and the action is not done.
   */
  async function hold(command: Perform): Promise<Settled | null> {
    const { stepId } = command;
    note('paused', stepId, {});
    await flush('active', stepId);
    const hears = hasChange(HOLDS_HEAR_EVENTS);
    for (;;) {
      await condition(() => !paused || exitReason !== null || (hears && inbox.length > 0));
      if (exitReason !== null) return null;
      if (hears && inbox.length > 0) {
        const changed = await drainInbox(command);
        if (changed) return changed;
      }
      if (!paused) break;
    }
    note('resumed', stepId, {});
    return null;
  }

  /**
   * Logs the steps entered, each branch's decision right after the branch, and a goal or exit
   * met. Only the log's payload: the commands issued stay the same, so histories replay.
   */
  function noteTrail(entered: readonly string[], decisions: readonly Decision[]): void {
    let d = 0;
    for (const stepId of entered) {
      note('entered', stepId, {});
      const decision = decisions[d];
      if (decision?.kind === 'branch' && decision.stepId === stepId) {
        noteDecision(decision);
        d++;
      }
    }
    for (const decision of decisions.slice(d)) noteDecision(decision);
  }

  function noteDecision({ kind, stepId, took, conditions }: Decision): void {
    const logKind = kind === 'branch' ? 'branch' : kind === 'goal' ? 'goalMet' : 'exitMet';
    note(logKind, stepId, { took, conditions });
  }

  /** What an action's log entry says besides its result. */
  function actionDetail(command: Perform): Record<string, unknown> {
    return { action: command.action.type, iteration: command.iteration };
  }

  function note(
    kind: LogEntry['kind'],
    stepId: string | null,
    detail: Record<string, unknown>,
  ): LogEntry {
    const entry = { seq: ++seq, at: Date.now(), kind, stepId, detail };
    log.push(entry);
    return entry;
  }

  async function flush(
    status: 'active' | Outcome,
    stepId: string | null,
    reason: string | null = null,
  ): Promise<void> {
    await bookkeeping(hasChange).recordEnrollment({
      enrollmentId,
      status,
      stepId,
      reason,
      log: log.splice(0),
    });
  }

  async function finish(
    outcome: Outcome,
    stepId: string | null,
    reason: string | null,
  ): Promise<JourneyWorkflowResult> {
    note('finished', stepId, { outcome, reason });
    await flush(outcome, stepId, reason);
    return { outcome, reason };
  }
}

/**
 * When the API accepted an event, read off its id (a UUIDv7 made as it was stored: the first 48
 * bits are the time in milliseconds); null for an id of another form.
 */
function acceptedAt(event: ContactEvent): number | null {
  const parts = /^([0-9a-f]{8})-([0-9a-f]{4})-7/i.exec(event.id);
  return parts ? parseInt(`${parts[1]}${parts[2]}`, 16) : null;
}
