import {
  ActivityFailure,
  condition,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import {
  advance,
  assertNever,
  startState,
  type Command,
  type EventFacts,
  type Input,
  type Outcome,
  type Plan,
} from '../core/index.js';
import { contactEventSignal, exitSignal, stateQuery } from './messages.js';

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
}

export interface JourneyWorkflowResult {
  readonly outcome: Outcome;
  readonly reason: string | null;
}

/**
 * Activities: 30 s per attempt, retried with backoff for up to a day (SMTP outages, database
 * restarts). Each side effect is idempotent by (enrollment, step, iteration), so a retry after
 * a timeout cannot send twice.
 */
const { performAction, recordEnrollment, loadFacts } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  scheduleToCloseTimeout: '1 day',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '5 minutes' },
});

type Settled = Exclude<Command, { type: 'loadFacts' | 'continue' }>;

/**
 * One contact's way through one journey version. A thin shell around the pure interpreter:
 * it carries out the interpreter's commands (activities, durable waits, fact loads) and feeds
 * back what happened. Contact events arrive as signals; an exit signal ends any wait at once.
 */
export async function journeyWorkflow(input: JourneyWorkflowInput): Promise<JourneyWorkflowResult> {
  const enrollmentId = workflowInfo().workflowId;
  const { plan, contactId, workspaceId } = input;
  const inbox: EventFacts[] = [];
  let exitReason: string | null = null;
  const trigger =
    input.trigger.name === null
      ? null
      : { name: input.trigger.name, properties: input.trigger.properties };
  let state = startState({ contactId, entryKey: input.entryKey ?? null, trigger });
  setHandler(stateQuery, () => state);
  setHandler(exitSignal, ({ reason }) => void (exitReason ??= reason));
  setHandler(contactEventSignal, (event) => void inbox.push(event));

  let command = await feed({ type: 'start' }, null);
  for (;;) {
    if (exitReason !== null) return finish('exited', state.stepId, exitReason);
    switch (command.type) {
      case 'finish':
        return finish(command.outcome, command.stepId, command.reason);
      case 'perform': {
        const done = await perform(command);
        // Events that came in during the action go first: a goal met meanwhile ends it here.
        command = (await drainInbox(command)) ?? (await feed(done, command));
        break;
      }
      case 'wait': {
        await recordEnrollment({ enrollmentId, status: 'active', stepId: command.stepId });
        const timeout =
          command.until === null ? undefined : Math.max(1, command.until - Date.now());
        const woke = await condition(() => inbox.length > 0 || exitReason !== null, timeout);
        if (exitReason !== null) break;
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
      const { command: c } = transition;
      if (c.type === 'loadFacts') {
        next = { type: 'facts', facts: await loadFacts({ workspaceId, contactId, enrollmentId }) };
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
      const now = changed ?? current;
      const wakeOn = now.type === 'wait' ? now.wakeOn : null;
      if (wakeOn && !wakeOn.anyChange && !wakeOn.events.includes(event.name)) continue;
      const next = await feed({ type: 'event', event }, changed ?? current);
      if (next !== (changed ?? current)) changed = next;
      if (next.type === 'finish' || next.type === 'perform') return next;
    }
    return changed;
  }

  async function perform(command: Settled & { type: 'perform' }): Promise<Input> {
    try {
      const result = await performAction({
        workspaceId,
        enrollmentId,
        contactId,
        stepId: command.stepId,
        iteration: command.iteration,
        action: command.action,
        trigger: input.trigger,
      });
      const status = 'status' in result ? result.status : undefined;
      return {
        type: 'actionDone',
        stepId: command.stepId,
        ...(status === undefined ? {} : { status }),
      };
    } catch (error) {
      if (!(error instanceof ActivityFailure)) throw error;
      return {
        type: 'actionFailed',
        stepId: command.stepId,
        error: error.cause?.message ?? error.message,
      };
    }
  }

  async function finish(
    outcome: Outcome,
    stepId: string | null,
    reason: string | null,
  ): Promise<JourneyWorkflowResult> {
    await recordEnrollment({ enrollmentId, status: outcome, stepId });
    return { outcome, reason };
  }
}
