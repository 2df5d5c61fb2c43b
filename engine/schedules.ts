import {
  DAYS_OF_WEEK,
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  WorkflowExecutionAlreadyStartedError,
  type CalendarSpec,
  type ScheduleSpec,
} from '@temporalio/client';
import type { Plan, PlanTrigger } from '../core/index.js';
import { audienceWorkflow, oneOffRunId, type AudienceWorkflowInput } from '../workflows/index.js';
import type { EngineDeps } from './deps.js';

/** At most this many triggers per journey (the schema's limit), so stale schedule ids are known. */
const MAX_TRIGGERS = 20;
/** A one-off schedule published up to this late still runs (at once); older ones are skipped. */
const ONE_OFF_GRACE_MS = 86_400_000;

export function scheduleId(journeyId: string, triggerIndex: number): string {
  return `journey-schedule/${journeyId}/${triggerIndex}`;
}

/**
 * Makes Temporal run a journey's time-based triggers: a Temporal Schedule per recurring
 * schedule trigger and per date trigger (daily), a delayed start per one-off schedule, each
 * running `audienceWorkflow`. Called on publish and on every status change; idempotent.
 */
export async function syncJourneySchedules(
  deps: EngineDeps,
  journey: { readonly id: string; readonly workspaceId: string; readonly status: string },
  versionId: string,
  plan: Plan,
  now = Date.now(),
): Promise<void> {
  for (let index = 0; index < MAX_TRIGGERS; index++) {
    const trigger = plan.triggers[index];
    const spec = trigger && journey.status !== 'archived' ? scheduleSpecOf(trigger) : null;
    const id = scheduleId(journey.id, index);
    if (!spec) {
      await deps.temporal.schedule.getHandle(id).delete().catch(ignore(ScheduleNotFoundError));
    } else {
      await upsertSchedule(
        deps,
        id,
        spec,
        audienceInput(journey, trigger?.type === 'date' ? 'date' : 'schedule', index),
        journey.status === 'paused',
      );
    }
    if (
      trigger?.type === 'schedule' &&
      trigger.at !== null &&
      journey.status === 'active' &&
      trigger.at > now - ONE_OFF_GRACE_MS
    ) {
      await deps.temporal.workflow
        .start(audienceWorkflow, {
          workflowId: oneOffRunId(journey.id, versionId, index),
          taskQueue: deps.taskQueue,
          args: [audienceInput(journey, 'schedule', index)],
          startDelay: Math.max(0, trigger.at - now),
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
        })
        .catch(ignore(WorkflowExecutionAlreadyStartedError));
    }
  }

  async function upsertSchedule(
    d: EngineDeps,
    id: string,
    spec: ScheduleSpec,
    args: AudienceWorkflowInput,
    paused: boolean,
  ): Promise<void> {
    const action = {
      type: 'startWorkflow' as const,
      workflowType: audienceWorkflow,
      taskQueue: d.taskQueue,
      args: [args] as [AudienceWorkflowInput],
      workflowId: `audience/${args.journeyId}/${id}`,
    };
    try {
      await d.temporal.schedule.create({ scheduleId: id, spec, action, state: { paused } });
    } catch (error) {
      if (!(error instanceof ScheduleAlreadyRunning)) throw error;
      const handle = d.temporal.schedule.getHandle(id);
      await handle.update((previous) => ({ ...previous, spec, action }));
      if (paused) await handle.pause('journey paused');
      else await handle.unpause('journey active');
    }
  }
}

/**
 * For a journey whose plan cannot be read, so its triggers are unknown: every schedule it may
 * have is paused, or deleted once it is archived, and none is made. Idempotent.
 */
export async function stopJourneySchedules(
  deps: EngineDeps,
  journey: { readonly id: string; readonly status: string },
): Promise<void> {
  for (let index = 0; index < MAX_TRIGGERS; index++) {
    const handle = deps.temporal.schedule.getHandle(scheduleId(journey.id, index));
    await (journey.status === 'archived' ? handle.delete() : handle.pause('journey paused')).catch(
      ignore(ScheduleNotFoundError),
    );
  }
}

function audienceInput(
  journey: { readonly id: string; readonly workspaceId: string },
  reason: 'schedule' | 'date',
  index: number,
): AudienceWorkflowInput {
  return { workspaceId: journey.workspaceId, journeyId: journey.id, reason, triggerIndex: index };
}

function scheduleSpecOf(trigger: PlanTrigger): ScheduleSpec | null {
  if (trigger.type === 'date') {
    return { calendars: [at(trigger.minuteOfDay)], timezone: trigger.fallbackTimezone };
  }
  if (trigger.type !== 'schedule' || !trigger.recurring) return null;
  const r = trigger.recurring;
  const calendar: CalendarSpec = at(r.minuteOfDay);
  switch (r.frequency) {
    case 'daily':
      return { calendars: [calendar], timezone: r.timezone };
    case 'weekly':
      return {
        calendars: [
          {
            ...calendar,
            dayOfWeek: r.weekdays.flatMap((d) => (DAYS_OF_WEEK[d] ? [DAYS_OF_WEEK[d]] : [])),
          },
        ],
        timezone: r.timezone,
      };
    case 'monthly':
      return { calendars: [{ ...calendar, dayOfMonth: r.dayOfMonth ?? 1 }], timezone: r.timezone };
  }
}

function at(minuteOfDay: number): CalendarSpec {
  return { hour: Math.floor(minuteOfDay / 60), minute: minuteOfDay % 60 };
}

function ignore(kind: abstract new (...args: never[]) => Error) {
  return (error: unknown) => {
    if (!(error instanceof kind)) throw error;
  };
}
