import type { StepDefinition } from './journey.schema.js';
import { conditionProblems, type ConditionScope } from './condition.check.js';
import { parseField } from './field.js';
import { pointerOf, type Problem } from './problem.js';
import { attributeType, isUnknownAttribute, type ValidationContext } from './validation-context.js';
import { durationProblems, placeholderAttributes, timeZoneProblems } from './value.check.js';

/** Checks of one step beyond its schema: references, durations, conditions, placeholders. */
export interface StepCheck {
  readonly step: StepDefinition;
  readonly path: readonly (string | number)[];
  readonly context: ValidationContext;
  readonly scope: ConditionScope;
  readonly hasEntryKey: boolean;
}

export function stepProblems(check: StepCheck): Problem[] {
  const { step, path } = check;
  const at = (...rest: (string | number)[]) => [...path, ...rest];
  const said = `Step \`${step.id}\``;
  switch (step.type) {
    case 'sendEmail':
      return [
        ...templateProblems(step.template, at('template'), said, check.context),
        ...placeholderProblems(step.subject, at('subject'), said, check.context),
      ];
    case 'createTask':
      return [
        ...durationProblems(step.due, at('due'), `${said} makes the task due in`),
        ...placeholderProblems(step.title, at('title'), said, check.context),
        ...assigneeProblems(step.assignee, at('assignee'), said, check.context),
      ];
    case 'updateContact':
      return step.changes.flatMap((c, i) => [
        ...managedProblems(c.attribute, at('changes', i, 'attribute'), said),
        ...(c.type === 'set' && typeof c.value === 'string'
          ? placeholderProblems(c.value, at('changes', i, 'value'), said, check.context)
          : []),
      ]);
    case 'webhook':
      return (step.onStatus ?? []).flatMap((r, i) =>
        r.from <= r.to
          ? []
          : [
              problem(
                at('onStatus', i),
                'bad-status-range',
                `${said} has a response range from ${r.from} to ${r.to}; the first must not exceed the second.`,
              ),
            ],
      );
    case 'enroll':
    case 'unenroll':
      return journeyProblems(step, at('journey'), said, check.context);
    case 'wait':
      return [
        ...durationProblems(step.duration, at('duration'), `${said} waits`),
        ...jitterProblems(step.jitter, at('jitter'), said),
      ];
    case 'waitUntil':
      return [
        ...((step.at === undefined) === (step.field === undefined)
          ? [
              problem(
                path,
                'wait-until-needs-one-date',
                `${said} needs exactly one of \`at\` (a date-time) or \`field\` (a date field).`,
              ),
            ]
          : []),
        ...(step.field !== undefined
          ? dateFieldProblems(step.field, at('field'), said, check.context)
          : []),
        ...durationProblems(step.offset, at('offset'), `${said}'s offset`),
        ...jitterProblems(step.jitter, at('jitter'), said),
      ];
    case 'waitForTime':
      return [
        ...timeZoneProblems(step.fallbackTimezone, at('fallbackTimezone')),
        ...jitterProblems(step.jitter, at('jitter'), said),
      ];
    case 'waitForEvent':
      return [
        ...timeoutProblems(step, path, said),
        ...(step.filter
          ? conditionProblems(
              step.filter,
              at('filter'),
              { ...check.scope, event: true },
              check.context,
            )
          : []),
        ...(step.correlate !== undefined && !check.hasEntryKey
          ? [
              problem(
                at('correlate'),
                'correlate-without-key',
                `${said} matches events to the entry key, but the journey has no \`entry.key\`.`,
              ),
            ]
          : []),
      ];
    case 'waitForCondition':
      return [
        ...timeoutProblems(step, path, said),
        ...durationProblems(step.recheckEvery, at('recheckEvery'), `${said} rechecks every`),
        ...conditionProblems(step.condition, at('condition'), check.scope, check.context),
      ];
    case 'branch':
      return step.cases.flatMap((c, i) =>
        conditionProblems(c.condition, at('cases', i, 'condition'), check.scope, check.context),
      );
    case 'updateTags':
    case 'updateLists':
      return (step.add ?? []).length + (step.remove ?? []).length === 0
        ? [problem(path, 'nothing-to-do', `${said} neither adds nor removes anything.`)]
        : [];
    case 'adjustScore':
    case 'setLifecycleStage':
    case 'split':
    case 'exit':
      return [];
  }
}

/**
 * Fields an `updateContact` step may not write, each with the way that does it right: written
 * as a plain attribute, tags became text and were lost, a stage changed without the event that
 * `lifecycleChange` triggers wait for, an email or time zone changed nothing (the contact's own
 * columns hold them).
 */
const MANAGED_FIELDS: ReadonlyMap<string, string> = new Map([
  ['tags', 'use an `updateTags` step'],
  ['lists', 'use an `updateLists` step'],
  ['scores', 'use an `adjustScore` step'],
  ['lifecycleStage', 'use a `setLifecycleStage` step'],
  ['unsubscribed', 'a contact unsubscribes through its preferences or the subscriptions API'],
  ['ownerId', 'set the owner through the contacts API, or assign tasks with `createTask`'],
  ['email', 'change the address through the contacts API'],
  ['timezone', 'change it through the contacts API'],
  ['locale', 'change it through the contacts API'],
  ['id', 'a contact keeps its id'],
  ['userId', 'change it through identify or the contacts API'],
  ['anonymousId', 'identify merges anonymous contacts'],
]);

function managedProblems(
  attribute: string,
  path: readonly (string | number)[],
  said: string,
): Problem[] {
  const instead = MANAGED_FIELDS.get(attribute);
  return instead === undefined
    ? []
    : [
        problem(
          path,
          'managed-attribute',
          `${said} cannot change \`${attribute}\` as an attribute; ${instead}.`,
        ),
      ];
}

function problem(path: readonly (string | number)[], code: string, message: string): Problem {
  return { pointer: pointerOf(...path), code, message };
}

function timeoutProblems(
  step: { readonly timeout?: string; readonly onTimeout?: string },
  path: readonly (string | number)[],
  said: string,
): Problem[] {
  if (step.timeout === undefined || step.onTimeout === undefined) {
    return [
      problem(
        path,
        'missing-timeout',
        `${said} could wait forever: give it a \`timeout\` and an \`onTimeout\` step for contacts who never get there.`,
      ),
    ];
  }
  return durationProblems(step.timeout, [...path, 'timeout'], `${said}'s timeout`);
}

function jitterProblems(
  jitter: string | undefined,
  path: readonly (string | number)[],
  said: string,
): Problem[] {
  return durationProblems(jitter, path, `${said}'s jitter`);
}

function templateProblems(
  name: string,
  path: readonly (string | number)[],
  said: string,
  context: ValidationContext,
): Problem[] {
  if (context.templateExists && !context.templateExists(name)) {
    return [
      problem(
        path,
        'unknown-template',
        `${said} sends the template \`${name}\`, which does not exist.`,
      ),
    ];
  }
  const missing = (context.templateVariables?.(name) ?? [])
    .flatMap((v) =>
      v.startsWith('contact.') ? [v.slice('contact.'.length).split('.')[0] ?? ''] : [],
    )
    .filter((attr) => attr !== '' && isUnknownAttribute(context, attr));
  return [...new Set(missing)].map((attr) =>
    problem(
      path,
      'unknown-template-variable',
      `${said}'s template \`${name}\` uses \`contact.${attr}\`, which contacts do not have.`,
    ),
  );
}

function placeholderProblems(
  text: string | undefined,
  path: readonly (string | number)[],
  said: string,
  context: ValidationContext,
): Problem[] {
  if (text === undefined) return [];
  return [...new Set(placeholderAttributes(text))]
    .filter((attr) => isUnknownAttribute(context, attr))
    .map((attr) =>
      problem(
        path,
        'unknown-template-variable',
        `${said} uses \`contact.${attr}\`, which contacts do not have.`,
      ),
    );
}

/**
 * The journey an `enroll` or `unenroll` step names must exist in the workspace; one to enroll
 * in must also not be archived, nor be only a draft when this journey is published (removing
 * contacts from either is harmless).
 */
function journeyProblems(
  step: Extract<StepDefinition, { type: 'enroll' | 'unenroll' }>,
  path: readonly (string | number)[],
  said: string,
  context: ValidationContext,
): Problem[] {
  const key = step.journey;
  const does =
    step.type === 'enroll'
      ? `${said} enrolls the contact in the journey \`${key}\``
      : `${said} removes the contact from the journey \`${key}\``;
  if (context.journeyExists && !context.journeyExists(key))
    return [problem(path, 'unknown-journey', `${does}, which does not exist in this workspace.`)];
  if (step.type === 'enroll' && context.journeyArchived?.(key))
    return [
      problem(
        path,
        'archived-journey',
        `${does}, which is archived: publish that journey again first, or pick another one.`,
      ),
    ];
  if (step.type === 'enroll' && context.journeyUnpublished?.(key))
    return [
      problem(
        path,
        'unpublished-journey',
        `${does}, which is only a draft so far: publish that journey first, or pick another one.`,
      ),
    ];
  return [];
}

function dateFieldProblems(
  field: string,
  path: readonly (string | number)[],
  said: string,
  context: ValidationContext,
): Problem[] {
  const { source, path: rest } = parseField(field);
  if (source !== 'contact' && source !== 'trigger') {
    return [
      problem(
        path,
        'not-a-date-field',
        `${said} waits for \`${field}\`; a date comes from \`contact.*\` or \`trigger.*\`.`,
      ),
    ];
  }
  const name = rest[0];
  if (source !== 'contact' || name === undefined || !context.contactAttributes) return [];
  const type = attributeType(context, name);
  if (type === undefined && context.unknownAttributes === 'store') return [];
  if (type === undefined)
    return [
      problem(
        path,
        'unknown-attribute',
        `${said} waits for \`${name}\`, but contacts have no such attribute.`,
      ),
    ];
  return type === 'date'
    ? []
    : [problem(path, 'type-mismatch', `${said} waits for \`${name}\`, which is not a date.`)];
}

function assigneeProblems(
  assignee: Extract<StepDefinition, { type: 'createTask' }>['assignee'],
  path: readonly (string | number)[],
  said: string,
  context: ValidationContext,
): Problem[] {
  const team =
    assignee.type === 'owner'
      ? assignee.fallbackTeam
      : assignee.type === 'user'
        ? undefined
        : assignee.team;
  const teamKey = assignee.type === 'owner' ? 'fallbackTeam' : 'team';
  if (team !== undefined && context.teamExists && !context.teamExists(team)) {
    return [
      problem(
        [...path, teamKey],
        'unknown-team',
        `${said} assigns its task to the team \`${team}\`, which does not exist in this workspace.`,
      ),
    ];
  }
  if (assignee.type === 'user' && context.userExists && !context.userExists(assignee.user)) {
    return [
      problem(
        [...path, 'user'],
        'unknown-user',
        `${said} assigns its task to the user \`${assignee.user}\`, who does not exist in this workspace.`,
      ),
    ];
  }
  return [];
}
