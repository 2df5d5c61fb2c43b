import { conditionProblems, type ConditionScope } from './condition.check.js';
import type { JourneyDefinition, TriggerDefinition } from './journey.schema.js';
import { pointerOf, type Problem } from './problem.js';
import { attributeType, type ValidationContext } from './validation-context.js';
import { durationProblems, timeZoneProblems } from './value.check.js';

/** Checks of the journey-wide parts: triggers, entry rules, goals, exits and settings. */

const BEFORE_ENTRY: ConditionScope = { event: false, enrollment: false, emailSteps: new Set() };

export function triggerProblems(
  trigger: TriggerDefinition,
  i: number,
  context: ValidationContext,
): Problem[] {
  const path = ['triggers', i];
  switch (trigger.type) {
    case 'event':
    case 'webhook':
      return trigger.filter
        ? conditionProblems(
            trigger.filter,
            [...path, 'filter'],
            {
              ...BEFORE_ENTRY,
              event: true,
              eventOnly: {
                what: 'A trigger filter',
                instead: 'put conditions on the contact in `entry.condition`.',
              },
            },
            context,
          )
        : [];
    case 'condition':
      return conditionProblems(trigger.condition, [...path, 'condition'], BEFORE_ENTRY, context);
    case 'schedule': {
      const problems: Problem[] = [];
      if ((trigger.at === undefined) === (trigger.recurring === undefined)) {
        problems.push({
          pointer: pointerOf(...path),
          code: 'schedule-needs-one-time',
          message: 'A schedule needs exactly one of `at` (once) or `recurring`.',
        });
      }
      const r = trigger.recurring;
      // Temporal runs a calendar with no weekday on no day at all; one with weekdays given to a
      // daily schedule would drop them.
      if (r?.frequency === 'weekly' && r.weekdays === undefined) {
        problems.push({
          pointer: pointerOf(...path, 'recurring'),
          code: 'required',
          message: 'A weekly schedule needs `weekdays`, for example ["mon"].',
        });
      }
      if (r && r.frequency !== 'weekly' && r.weekdays !== undefined) {
        problems.push({
          pointer: pointerOf(...path, 'recurring', 'weekdays'),
          code: 'weekdays-not-weekly',
          message: `A ${r.frequency} schedule does not run on chosen weekdays: make it \`weekly\`, or leave out \`weekdays\`.`,
        });
      }
      if (r?.frequency === 'monthly' && r.dayOfMonth === undefined) {
        problems.push({
          pointer: pointerOf(...path, 'recurring'),
          code: 'required',
          message: 'A monthly schedule needs `dayOfMonth`.',
        });
      }
      if (r) problems.push(...timeZoneProblems(r.timezone, [...path, 'recurring', 'timezone']));
      if (trigger.audience)
        problems.push(
          ...conditionProblems(trigger.audience, [...path, 'audience'], BEFORE_ENTRY, context),
        );
      return problems;
    }
    case 'date': {
      const problems = [
        ...durationProblems(trigger.offset, [...path, 'offset'], 'The trigger’s offset'),
        ...timeZoneProblems(trigger.fallbackTimezone, [...path, 'fallbackTimezone']),
        ...(trigger.audience
          ? conditionProblems(trigger.audience, [...path, 'audience'], BEFORE_ENTRY, context)
          : []),
      ];
      const type = context.contactAttributes ? attributeType(context, trigger.attribute) : 'date';
      // An undeclared attribute in a workspace that stores them may hold dates: unknowable.
      const unknowable = type === undefined && context.unknownAttributes === 'store';
      if (type !== 'date' && !unknowable) {
        problems.push({
          pointer: pointerOf(...path, 'attribute'),
          code: type === undefined ? 'unknown-attribute' : 'type-mismatch',
          message: `The date trigger reads \`${trigger.attribute}\`, which is not a date attribute of contacts.`,
        });
      }
      return problems;
    }
    case 'lifecycleChange':
      return trigger.from !== undefined && trigger.from === trigger.to
        ? [
            {
              pointer: pointerOf(...path, 'to'),
              code: 'no-change',
              message: 'A lifecycle change needs different `from` and `to` stages.',
            },
          ]
        : [];
    case 'manual':
      return [];
  }
}

export function entryProblems(journey: JourneyDefinition, context: ValidationContext): Problem[] {
  const entry = journey.entry;
  if (!entry) return [];
  const problems = [...durationProblems(entry.coolDown, ['entry', 'coolDown'], 'The cool-down')];
  if (entry.reentry === 'coolDown' && entry.coolDown === undefined) {
    problems.push({
      pointer: '/entry/coolDown',
      code: 'required',
      message: 'Re-entry after a cool-down needs `coolDown`, such as `P30D`.',
    });
  }
  if (
    entry.key?.startsWith('event.') === false &&
    !entry.key.startsWith('trigger.') &&
    !entry.key.startsWith('contact.')
  ) {
    problems.push({
      pointer: '/entry/key',
      code: 'bad-entry-key',
      message:
        'The entry key must be a field of the enrolling event (`trigger.*`) or of the contact.',
    });
  }
  if (entry.condition) {
    problems.push(
      ...conditionProblems(
        entry.condition,
        ['entry', 'condition'],
        { event: true, enrollment: true, emailSteps: new Set() },
        context,
      ),
    );
  }
  return problems;
}

export function interruptProblems(
  journey: JourneyDefinition,
  scope: ConditionScope,
  context: ValidationContext,
): Problem[] {
  const problems: Problem[] = [];
  for (const key of ['goals', 'exits'] as const) {
    const seen = new Set<string>();
    (journey[key] ?? []).forEach((c, i) => {
      if (seen.has(c.id)) {
        problems.push({
          pointer: pointerOf(key, i, 'id'),
          code: 'duplicate-id',
          message: `Two ${key} are called \`${c.id}\`.`,
        });
      }
      seen.add(c.id);
      if (c.type === 'event' && c.filter) {
        problems.push(
          ...conditionProblems(c.filter, [key, i, 'filter'], { ...scope, event: true }, context),
        );
      }
      if (c.type === 'condition')
        problems.push(...conditionProblems(c.condition, [key, i, 'condition'], scope, context));
    });
  }
  (journey.suppression ?? []).forEach((c, i) =>
    problems.push(...conditionProblems(c, ['suppression', i], scope, context)),
  );
  return problems;
}

export function settingsProblems(journey: JourneyDefinition): Problem[] {
  const s = journey.settings;
  if (!s) return [];
  const problems = [
    ...timeZoneProblems(s.fallbackTimezone, ['settings', 'fallbackTimezone']),
    ...durationProblems(
      s.rateLimit?.per,
      ['settings', 'rateLimit', 'per'],
      'The webhook rate limit’s period',
    ),
  ];
  if (s.quietHours && s.quietHours.start === s.quietHours.end) {
    problems.push({
      pointer: '/settings/quietHours/end',
      code: 'empty-quiet-hours',
      message: 'Quiet hours must end at another time than they start.',
    });
  }
  return problems;
}
