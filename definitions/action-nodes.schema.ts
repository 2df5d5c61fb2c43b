import { Type, type TSchema } from '@sinclair/typebox';
import {
  ContactAttribute,
  Duration,
  Label,
  LifecycleStage,
  OneOf,
  StepId,
  StepRef,
} from './common.schema.js';
import { TaggedUnion } from './tagged-union.js';

/**
 * Action nodes: one side effect each, carried out once per (enrollment, step, pass) however
 * often the activity is retried. Text fields may use Handlebars placeholders such as
 * `{{contact.firstName}}` or `{{trigger.properties.plan}}`.
 */

const OnFailure = Type.Union([Type.Literal('skip'), Type.Literal('stop')], {
  title: 'On failure',
  description:
    'When the action fails for good (after retries): `skip` to the next step, or `stop` the enrollment (default).',
});

const action = <T extends string, P extends Record<string, TSchema>>(
  type: T,
  title: string,
  description: string,
  props: P,
) =>
  Type.Object(
    {
      id: StepId,
      type: Type.Literal(type),
      ...props,
      next: Type.Optional(StepRef),
      onFailure: Type.Optional(OnFailure),
    },
    { title, description, additionalProperties: false },
  );

const Tags = (title: string) =>
  Type.Array(Label(title, 'A tag or list name.', 100), {
    title,
    description: title,
    maxItems: 50,
    uniqueItems: true,
  });

export const SendEmailNode = action(
  'sendEmail',
  'Send email',
  'Sends an email built from a template, once per contact and step.',
  {
    template: Label('Template', 'Name of a template in `templates/`, without `.hbs`.'),
    subject: Type.Optional(
      Label('Subject', 'Overrides the template’s subject for this step.', 998),
    ),
    from: Type.Optional(
      Label(
        'From',
        'Sender, such as `Ada at Drumbeat <ada@example.com>`; default from configuration.',
        320,
      ),
    ),
    replyTo: Type.Optional(
      Type.String({ title: 'Reply-to', description: 'Where replies go.', format: 'email' }),
    ),
    category: Type.Optional(
      Label(
        'Category',
        'Groups emails for frequency caps and unsubscribe preferences, such as `newsletter`.',
        100,
      ),
    ),
  },
);

const Assignee = TaggedUnion(
  [
    Type.Object(
      {
        type: Type.Literal('owner'),
        fallbackTeam: Type.Optional(
          Label('Fallback team', 'Round-robin over this team when the contact has no owner.', 100),
        ),
      },
      { title: 'Contact owner', description: 'The contact’s owner.', additionalProperties: false },
    ),
    Type.Object(
      { type: Type.Literal('roundRobin'), team: Label('Team', 'A team id.', 100) },
      {
        title: 'Round-robin',
        description: 'The next member of the team, in turn.',
        additionalProperties: false,
      },
    ),
    Type.Object(
      { type: Type.Literal('leastLoaded'), team: Label('Team', 'A team id.', 100) },
      {
        title: 'Least loaded',
        description: 'The team member with the fewest open tasks.',
        additionalProperties: false,
      },
    ),
    Type.Object(
      { type: Type.Literal('user'), user: Label('User', 'A user id or email.', 320) },
      { title: 'A user', description: 'This user.', additionalProperties: false },
    ),
  ],
  { title: 'Assignee', description: 'Who gets the task.' },
);

export const CreateTaskNode = action(
  'createTask',
  'Create task',
  'Creates a task for a person on the team, such as a follow-up call.',
  {
    title: Label('Title', 'What to do, such as `Call {{contact.firstName}}`.'),
    description: Type.Optional(Label('Description', 'Details for the assignee.', 5000)),
    assignee: Assignee,
    due: Type.Optional({
      ...Duration,
      title: 'Due in',
      description: 'When the task is due, counted from its creation.',
    }),
    priority: Type.Optional(
      OneOf(['low', 'normal', 'high', 'urgent'], {
        title: 'Priority',
        description: 'low, normal (default), high or urgent.',
      }),
    ),
  },
);

const ContactChange = TaggedUnion(
  [
    Type.Object(
      {
        type: Type.Literal('set'),
        attribute: ContactAttribute,
        value: Type.Union(
          [Type.String({ maxLength: 2000 }), Type.Number(), Type.Boolean(), Type.Null()],
          {
            title: 'Value',
            description: 'The new value; text may use placeholders.',
          },
        ),
      },
      { title: 'Set', description: 'Sets the attribute.', additionalProperties: false },
    ),
    Type.Object(
      {
        type: Type.Literal('increment'),
        attribute: ContactAttribute,
        by: Type.Number({ title: 'By', description: 'Added to the number (negative subtracts).' }),
      },
      {
        title: 'Increment',
        description: 'Adds to a number attribute (missing counts as 0).',
        additionalProperties: false,
      },
    ),
    Type.Object(
      { type: Type.Literal('unset'), attribute: ContactAttribute },
      { title: 'Unset', description: 'Removes the attribute.', additionalProperties: false },
    ),
  ],
  { title: 'Change', description: 'One change to a contact attribute.' },
);

export const UpdateContactNode = action(
  'updateContact',
  'Update contact',
  'Changes contact attributes.',
  {
    changes: Type.Array(ContactChange, {
      title: 'Changes',
      description: 'Applied in order.',
      minItems: 1,
      maxItems: 50,
    }),
  },
);

export const UpdateTagsNode = action(
  'updateTags',
  'Add or remove tags',
  'Adds tags to the contact and removes others.',
  {
    add: Type.Optional(Tags('Tags to add')),
    remove: Type.Optional(Tags('Tags to remove')),
  },
);

export const UpdateListsNode = action(
  'updateLists',
  'Add to or remove from lists',
  'Subscribes the contact to lists or removes them.',
  {
    add: Type.Optional(Tags('Lists to add to')),
    remove: Type.Optional(Tags('Lists to remove from')),
  },
);

export const AdjustScoreNode = action(
  'adjustScore',
  'Adjust score',
  'Adds points to (or takes points from) a score.',
  {
    score: Type.Optional(Label('Score', 'Which score; default `lead`.', 64)),
    points: Type.Number({
      title: 'Points',
      description: 'Points to add; negative to take away.',
      minimum: -10_000,
      maximum: 10_000,
    }),
    reason: Type.Optional(Label('Reason', 'Shown in the score history.', 500)),
  },
);

export const SetLifecycleStageNode = action(
  'setLifecycleStage',
  'Set lifecycle stage',
  'Moves the contact to a lifecycle stage.',
  {
    stage: LifecycleStage,
  },
);

const StatusRoute = Type.Object(
  {
    from: Type.Integer({
      title: 'From status',
      description: 'Lowest HTTP status of the range.',
      minimum: 100,
      maximum: 599,
    }),
    to: Type.Integer({
      title: 'To status',
      description: 'Highest HTTP status of the range.',
      minimum: 100,
      maximum: 599,
    }),
    next: StepRef,
  },
  {
    title: 'Response route',
    description: 'Where to go when the response status is in the range.',
    additionalProperties: false,
  },
);

export const WebhookNode = action(
  'webhook',
  'Call webhook',
  'Calls an outbound webhook (signed as a Standard Webhook) and can branch on the response status.',
  {
    url: Type.String({
      title: 'URL',
      description: 'An `https://` or `http://` URL.',
      format: 'uri',
      maxLength: 2000,
      pattern: '^https?://',
    }),
    method: Type.Optional(
      OneOf(['GET', 'POST', 'PUT', 'PATCH', 'DELETE'], {
        title: 'Method',
        description: 'Default `POST`.',
      }),
    ),
    headers: Type.Optional(
      Type.Record(
        Type.String({ pattern: '^[A-Za-z0-9-]{1,100}$' }),
        Type.String({ maxLength: 2000 }),
        {
          title: 'Headers',
          description: 'Extra request headers.',
          maxProperties: 20,
        },
      ),
    ),
    body: Type.Optional(
      Type.Unknown({
        title: 'Body',
        description: 'A JSON body; strings in it may use placeholders.',
      }),
    ),
    onStatus: Type.Optional(
      Type.Array(StatusRoute, {
        title: 'Response routes',
        description: 'The first matching range decides the next step; otherwise `next`.',
        maxItems: 10,
      }),
    ),
  },
);

const JourneyRef = Type.String({
  title: 'Journey',
  description: 'The id of another journey.',
  pattern: '^[a-z0-9][a-z0-9_-]{0,63}$',
});

export const EnrollNode = action(
  'enroll',
  'Enroll in journey',
  'Enrolls the contact in another journey (its entry rules apply).',
  { journey: JourneyRef },
);

export const UnenrollNode = action(
  'unenroll',
  'Remove from journey',
  'Ends the contact’s enrollments in another journey.',
  { journey: JourneyRef },
);

export const ACTION_NODES = [
  SendEmailNode,
  CreateTaskNode,
  UpdateContactNode,
  UpdateTagsNode,
  UpdateListsNode,
  AdjustScoreNode,
  SetLifecycleStageNode,
  WebhookNode,
  EnrollNode,
  UnenrollNode,
] as const;
