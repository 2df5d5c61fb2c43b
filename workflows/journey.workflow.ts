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
import type { Activities, LogEntry } from '../activities/index.js';
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

/** Event ids remembered for deduplication; older repeats are long past any retry window. */
const SEEN_EVENTS_KEPT = 1000;
/** Start a fresh history well before Temporal's limits, at a wait (a safe point). */
const HISTORY_EVENTS_BEFORE_CONTINUE = 5000;

/**
 * Whether a run has a behaviour change, by its patch id: `patched()` for runs of the first
 * workflow type, every change for runs of {@link journeyWorkflowV2}.
 */
type HasChange = (patchId: string) => boolean;

/**
 * One contact's way through one journey version: what the API starts for each enrollment.
 * Its runs have every change up to `workflow-sleeps-on-deferred-sends` without asking, where
 * `patched()` would record a marker and upsert the `TemporalChangeVersion` search attribute
 * for each (the recorded welcome series is 14 events instead of 20). A change after these
 * goes behind `patched()` in {@link runJourney}, for both types. This is a new type rather
 * than a flag in the input because a worker that lacks it leaves its runs to one that has it,
 * while an older worker given a flag it does not know would record markers that this code
 * does not ask for, and replay would then fail.
 */
export async function journeyWorkflowV2(
  input: JourneyWorkflowInput,
): Promise<JourneyWorkflowResult> {
  return runJourney(input, () => true);
}

/**
 * The first type, for enrollments started before {@link journeyWorkflowV2}: their histories
 * decide each change through `patched()`, as they did when they ran.
 */
export async function journeyWorkflow(input: JourneyWorkflowInput): Promise<JourneyWorkflowResult> {
  return runJourney(input, patched);
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
          await hold(command.stepId);
          break;
        }
        const done = await perform(command);
        // Events that came in during the action go first: a goal met meanwhile ends it here.
        command = (await drainInbox(command)) ?? (await feed(done, command));
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
          facts: await bookkeeping(hasChange).loadFacts({ workspaceId, contactId, enrollmentId }),
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

  async function perform(command: Settled & { type: 'perform' }): Promise<Input> {
    try {
      const deferrable = hasChange('workflow-sleeps-on-deferred-sends');
      let result = await attempt(command, deferrable);
      // Quiet hours or a frequency cap hold the send: sleep durably to the allowed moment and
      // try again with the same key. An exit meanwhile ends the enrollment without sending.
      while (result.type === 'sendEmail' && result.result.status === 'deferred') {
        const { until, reason } = result.result;
        note('deferred', command.stepId, { until, reason });
        await flush('active', command.stepId);
        await condition(() => exitReason !== null, Math.max(1, until - Date.now()));
        if (exitReason !== null)
          return { type: 'actionFailed', stepId: command.stepId, error: 'exited' };
        result = await attempt(command, deferrable);
      }
      note('action', command.stepId, {
        action: command.action.type,
        iteration: command.iteration,
        result,
      });
      const status =
        'status' in result && typeof result.status === 'number' ? result.status : undefined;
      return {
        type: 'actionDone',
        stepId: command.stepId,
        ...(status === undefined ? {} : { status }),
      };
    } catch (error) {
      const message = error instanceof ActionFailed ? error.message : activityFailure(error, false);
      if (message === null) throw error;
      note('actionFailed', command.stepId, { action: command.action.type, error: message });
      return { type: 'actionFailed', stepId: command.stepId, error: message };
    }
  }

  async function attempt(command: Settled & { type: 'perform' }, deferrable: boolean) {
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
      });
    } catch (error) {
      const message = activityFailure(error, true);
      if (message === null) throw error;
      throw new ActionFailed(message);
    }
  }

  /** Holds before an action while the journey is paused. */
  async function hold(stepId: string): Promise<void> {
    note('paused', stepId, {});
    await flush('active', stepId);
    await condition(() => !paused || exitReason !== null);
    if (exitReason === null) note('resumed', stepId, {});
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

  function note(
    kind: LogEntry['kind'],
    stepId: string | null,
    detail: Record<string, unknown>,
  ): void {
    log.push({ seq: ++seq, at: Date.now(), kind, stepId, detail });
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
