import { Type, type Static } from '@sinclair/typebox';
import { Duration, EventName, ID_PATTERN, Label, LifecycleStage } from './common.schema.js';
import { Condition, ConditionSchema } from './condition.schema.js';

/**
 * Scoring models: the second document type, validated and versioned like journeys. Engagement
 * comes from events (with decay), fit from attributes; thresholds move lifecycle stages. What
 * the numbers mean at run time is the scoring engine's business; this is the language.
 */
export const SCORING_SCHEMA_ID = 'https://drumbeat.dev/schemas/scoring-model.schema.json';

const RuleId = Type.String({
  title: 'Rule id',
  description: 'Names the rule in score histories.',
  pattern: ID_PATTERN,
});

const EventRule = Type.Object(
  {
    id: RuleId,
    event: EventName,
    filter: Type.Optional({
      ...Condition,
      description: 'Only events matching this condition count (`event.*` are its properties).',
    }),
    points: Type.Number({
      title: 'Points',
      description: 'Points per event; negative takes points away.',
      minimum: -1000,
      maximum: 1000,
    }),
    cap: Type.Optional(
      Type.Object(
        {
          points: Type.Number({
            title: 'Points',
            description: 'At most this many points from this rule…',
            exclusiveMinimum: 0,
            maximum: 100_000,
          }),
          per: { ...Duration, description: '…per this period.' },
        },
        {
          title: 'Cap',
          description: 'Limits the points this rule gives in a period.',
          additionalProperties: false,
        },
      ),
    ),
  },
  {
    title: 'Event rule',
    description: 'Points for something the contact did.',
    additionalProperties: false,
  },
);

const FitRule = Type.Object(
  {
    id: RuleId,
    condition: Condition,
    points: Type.Number({
      title: 'Points',
      description: 'Points while the contact matches.',
      minimum: -1000,
      maximum: 1000,
    }),
  },
  {
    title: 'Fit rule',
    description: 'Points for who the contact is (job title, company size, country…).',
    additionalProperties: false,
  },
);

const Threshold = Type.Object(
  {
    stage: LifecycleStage,
    score: Type.Optional(
      Type.Union([Type.Literal('lead'), Type.Literal('engagement'), Type.Literal('fit')], {
        title: 'Score',
        description: 'Which score: `lead` (engagement + fit, default), `engagement` or `fit`.',
      }),
    ),
    enterAt: Type.Number({
      title: 'Enter at',
      description: 'Reaching this score moves the contact into the stage.',
    }),
    exitBelow: Type.Optional(
      Type.Number({
        title: 'Leave below',
        description: 'Only falling below this moves them back (hysteresis); default `enterAt`.',
      }),
    ),
  },
  {
    title: 'Threshold',
    description: 'A lifecycle stage reached at a score.',
    additionalProperties: false,
  },
);

export const ScoringModelSchema = Type.Object(
  {
    $schema: Type.Optional(Type.String({ description: 'Lets editors find this schema.' })),
    id: Type.String({
      title: 'Model id',
      description: 'Stable identifier: lower-case letters, digits, `-` and `_`.',
      pattern: '^[a-z0-9][a-z0-9_-]{0,63}$',
    }),
    name: Label('Name', 'What the team calls the model.'),
    description: Type.Optional(
      Type.String({ title: 'Description', description: 'What the model is for.', maxLength: 2000 }),
    ),
    engagement: Type.Object(
      {
        rules: Type.Array(EventRule, {
          title: 'Event rules',
          description: 'Events that add or take points.',
          minItems: 1,
          maxItems: 200,
        }),
        halfLife: Type.Optional({
          ...Duration,
          title: 'Half-life',
          description: 'Engagement points halve over this time (decay).',
        }),
      },
      {
        title: 'Engagement',
        description: 'Behaviour: points from events, decaying over time.',
        additionalProperties: false,
      },
    ),
    fit: Type.Optional(
      Type.Object(
        {
          rules: Type.Array(FitRule, {
            title: 'Fit rules',
            description: 'Attribute-based points.',
            minItems: 1,
            maxItems: 200,
          }),
        },
        {
          title: 'Fit',
          description: 'Who the contact is: points from attributes.',
          additionalProperties: false,
        },
      ),
    ),
    lifecycle: Type.Optional(
      Type.Object(
        {
          thresholds: Type.Array(Threshold, {
            title: 'Thresholds',
            description: 'In ascending order of stage.',
            minItems: 1,
            maxItems: 10,
          }),
        },
        {
          title: 'Lifecycle thresholds',
          description: 'Scores at which contacts change stage.',
          additionalProperties: false,
        },
      ),
    ),
  },
  {
    $id: SCORING_SCHEMA_ID,
    $defs: { Condition: ConditionSchema },
    title: 'Scoring model',
    description:
      'How Drumbeat scores contacts: engagement from events, fit from attributes, and the stages the scores lead to.',
    additionalProperties: false,
  },
);

export type ScoringModelDefinition = Static<typeof ScoringModelSchema>;
