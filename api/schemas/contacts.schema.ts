import { Type, type Static } from '@sinclair/typebox';
import {
  ATTRIBUTE_TYPES,
  UNKNOWN_ATTRIBUTE_POLICIES,
} from '../../engine/contacts/attribute-schema.js';
import { SUBSCRIPTION_STATUSES } from '../../engine/contacts/subscriptions.js';

/** Request bodies of the contact data routes: attributes, contacts, tags, lists, subscriptions. */

export const AttributeDefinitionSchema = Type.Object(
  {
    type: Type.Union(
      ATTRIBUTE_TYPES.map((t) => Type.Literal(t)),
      {
        title: 'Type',
        description:
          '`text`, `number`, `boolean`, `date` (2025-05-01 or an ISO 8601 date-time), `email`, `enum` (one of `values`) or `list` (of text).',
      },
    ),
    label: Type.Optional(
      Type.String({
        title: 'Label',
        description: 'How people see it.',
        minLength: 1,
        maxLength: 200,
      }),
    ),
    values: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 200 }), {
        title: 'Values',
        description: 'For `enum` only: the allowed values.',
        minItems: 1,
        maxItems: 500,
        uniqueItems: true,
      }),
    ),
  },
  {
    additionalProperties: false,
    title: 'Attribute definition',
    description: 'A custom attribute: its type is checked on every write.',
  },
);
export type AttributeDefinitionBody = Static<typeof AttributeDefinitionSchema>;

export const AttributePolicySchema = Type.Object(
  {
    unknownAttributes: Type.Union(
      UNKNOWN_ATTRIBUTE_POLICIES.map((p) => Type.Literal(p)),
      {
        title: 'Unknown attributes',
        description:
          '`store` (the default): attributes nobody declared are kept as sent; `reject`: a write naming one is refused.',
      },
    ),
  },
  { additionalProperties: false, title: 'Attribute policy' },
);
export type AttributePolicyBody = Static<typeof AttributePolicySchema>;

const ContactFields = {
  email: Type.Optional(
    Type.String({ title: 'Email', description: 'Trimmed; unique per workspace.', maxLength: 320 }),
  ),
  timezone: Type.Optional(
    Type.String({
      title: 'Time zone',
      description: 'An IANA time zone such as `Europe/Paris`.',
      maxLength: 100,
    }),
  ),
  locale: Type.Optional(
    Type.String({
      title: 'Locale',
      description: 'A BCP 47 language tag such as `en-GB`.',
      maxLength: 100,
    }),
  ),
  ownerId: Type.Optional(
    Type.Union([Type.String({ minLength: 1, maxLength: 100 }), Type.Null()], {
      title: 'Owner',
      description:
        'The id of a user of this workspace who owns the contact (tasks assigned to the contact owner go to them); null for nobody.',
    }),
  ),
  attributes: Type.Optional(
    Type.Record(Type.String({ minLength: 1, maxLength: 200 }), Type.Unknown(), {
      title: 'Attributes',
      description:
        'Custom attributes, merged into the ones the contact has (null clears one); checked against the declared attributes.',
    }),
  ),
};

export const CreateContactSchema = Type.Object(
  {
    userId: Type.Optional(
      Type.String({
        title: 'User id',
        description: 'Your id for this person.',
        minLength: 1,
        maxLength: 255,
      }),
    ),
    ...ContactFields,
  },
  {
    additionalProperties: false,
    title: 'Create contact',
    description: 'A new contact, with a `userId`, an `email` or both.',
  },
);
export type CreateContactBody = Static<typeof CreateContactSchema>;

export const UpdateContactSchema = Type.Object(ContactFields, {
  additionalProperties: false,
  minProperties: 1,
  title: 'Update contact',
  description: 'Only the fields sent change.',
});
export type UpdateContactBody = Static<typeof UpdateContactSchema>;

export const TagsSchema = Type.Object(
  {
    tags: Type.Array(Type.String({ minLength: 1, maxLength: 100 }), {
      title: 'Tags',
      description: 'Tags to add (those the contact has already are kept once).',
      minItems: 1,
      maxItems: 100,
    }),
  },
  { additionalProperties: false, title: 'Add tags' },
);
export type TagsBody = Static<typeof TagsSchema>;

export const SubscriptionChangeSchema = Type.Object(
  {
    status: Type.Union(
      SUBSCRIPTION_STATUSES.map((s) => Type.Literal(s)),
      {
        title: 'Status',
        description:
          '`subscribed` or `unsubscribed`; `bounced` and `complained` (on `all` only) need an admin key.',
      },
    ),
    source: Type.Optional(
      Type.String({
        title: 'Source',
        description: 'Where the change comes from (default `api`), such as `crm` or `support`.',
        pattern: '^[A-Za-z0-9][A-Za-z0-9 _.:-]{0,49}$',
      }),
    ),
  },
  { additionalProperties: false, title: 'Change subscription' },
);
export type SubscriptionChangeBody = Static<typeof SubscriptionChangeSchema>;

export const CreateListSchema = Type.Object(
  {
    key: Type.String({
      title: 'Key',
      description:
        'What journeys (`updateLists`) and conditions (`lists`) name the list by, such as `newsletter`.',
      minLength: 1,
      maxLength: 100,
      pattern: '^\\S(.*\\S)?$',
    }),
    name: Type.Optional(
      Type.String({
        title: 'Name',
        description: 'How people see it.',
        minLength: 1,
        maxLength: 200,
      }),
    ),
  },
  { additionalProperties: false, title: 'Create list', description: 'A static list.' },
);
export type CreateListBody = Static<typeof CreateListSchema>;

export const ListMembersSchema = Type.Object(
  {
    contacts: Type.Array(Type.String({ minLength: 1, maxLength: 320 }), {
      title: 'Contacts',
      description: 'Each a contact id, a user id or an email.',
      minItems: 1,
      maxItems: 500,
    }),
  },
  { additionalProperties: false, title: 'Add list members' },
);
export type ListMembersBody = Static<typeof ListMembersSchema>;
