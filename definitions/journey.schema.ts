import { Type, type Static } from '@sinclair/typebox';
import { ACTION_NODES } from './action-nodes.schema.js';
import { ConditionSchema } from './condition.schema.js';
import { BRANCH_NODES, ExitNode, WAIT_NODES } from './flow-nodes.schema.js';
import { EntryRules, Exits, Goals, JourneySettings, Suppression } from './journey-rules.schema.js';
import { TaggedUnion } from './tagged-union.js';
import { Trigger } from './trigger.schema.js';

/**
 * The journey definition language. This TypeBox schema is the single source of truth: AJV
 * validates with it, the TypeScript type below is derived from it, and
 * `definitions/schemas/journey.schema.json` is generated from it for editors and the API.
 */
export const JOURNEY_SCHEMA_ID = 'https://drumbeat.dev/schemas/journey.schema.json';

export const Step = TaggedUnion([...ACTION_NODES, ...WAIT_NODES, ...BRANCH_NODES, ExitNode], {
  title: 'Step',
  description: 'One step of the journey: an action, a wait, a branch or an exit.',
});

export const JourneySchema = Type.Object(
  {
    $schema: Type.Optional(Type.String({ description: 'Lets editors find this schema.' })),
    id: Type.String({
      title: 'Journey id',
      description:
        'Stable identifier, unique in the workspace: lower-case letters, digits, `-` and `_`.',
      pattern: '^[a-z0-9][a-z0-9_-]{0,63}$',
    }),
    name: Type.String({
      title: 'Name',
      description: 'What marketers call the journey.',
      minLength: 1,
      maxLength: 200,
    }),
    description: Type.Optional(
      Type.String({
        title: 'Description',
        description: 'What the journey is for.',
        maxLength: 2000,
      }),
    ),
    triggers: Type.Array(Trigger, {
      title: 'Triggers',
      description: 'Any of these enrolls a contact.',
      minItems: 1,
      maxItems: 20,
    }),
    entry: Type.Optional(EntryRules),
    goals: Type.Optional(Goals),
    exits: Type.Optional(Exits),
    suppression: Type.Optional(Suppression),
    settings: Type.Optional(JourneySettings),
    steps: Type.Array(Step, {
      title: 'Steps',
      description: 'The steps, in order. A step without `next` continues with the one after it.',
      minItems: 1,
      maxItems: 1000,
    }),
  },
  {
    $id: JOURNEY_SCHEMA_ID,
    $defs: { Condition: ConditionSchema },
    title: 'Journey',
    description:
      'A Drumbeat journey: who enters it, the steps each contact goes through, and what ends it early.',
    additionalProperties: false,
  },
);

export type JourneyDefinition = Static<typeof JourneySchema>;
export type StepDefinition = JourneyDefinition['steps'][number];
export type TriggerDefinition = JourneyDefinition['triggers'][number];
