import { Type, type Static } from '@sinclair/typebox';

/** Request bodies of the workspace, API key and webhook source routes (also in the OpenAPI document). */
const Name = Type.String({ title: 'Name', minLength: 1, maxLength: 200 });

export const CreateWorkspaceSchema = Type.Object(
  { name: Name },
  {
    additionalProperties: false,
    title: 'Create workspace',
    description: 'A new, empty workspace.',
  },
);
export type CreateWorkspaceBody = Static<typeof CreateWorkspaceSchema>;

export const UpdateWorkspaceSchema = Type.Object(
  { name: Name },
  { additionalProperties: false, title: 'Update workspace' },
);
export type UpdateWorkspaceBody = Static<typeof UpdateWorkspaceSchema>;

export const CreateApiKeySchema = Type.Object(
  {
    name: Name,
    scope: Type.Union([Type.Literal('admin'), Type.Literal('write'), Type.Literal('ingest')], {
      title: 'Scope',
      description:
        '`admin`: everything, including keys and webhook sources; `write`: everything else; `ingest`: only identify/track/batch (safe for public clients).',
    }),
  },
  { additionalProperties: false, title: 'Create API key' },
);
export type CreateApiKeyBody = Static<typeof CreateApiKeySchema>;

const Pointer = Type.String({
  title: 'JSON pointer or template',
  description:
    'A JSON pointer into the payload (`/data/customer/email`), or a template where `{{/pointer}}` is replaced by the value (`invoice_{{/type}}`); any other text is used as it is.',
  minLength: 1,
  maxLength: 500,
});

export const WebhookMappingSchema = Type.Object(
  {
    event: Pointer,
    userId: Type.Optional(Pointer),
    anonymousId: Type.Optional(Pointer),
    email: Type.Optional(Pointer),
    messageId: Type.Optional(Pointer),
    timestamp: Type.Optional(Pointer),
    traits: Type.Optional(
      Type.Record(Type.String({ maxLength: 100 }), Pointer, { maxProperties: 50 }),
    ),
    properties: Type.Optional(
      Type.Record(Type.String({ maxLength: 100 }), Pointer, { maxProperties: 50 }),
    ),
  },
  {
    additionalProperties: false,
    title: 'Payload mapping',
    description:
      'How a payload becomes a contact and an event. `userId` or `email` (or `anonymousId`) says who; `messageId` defaults to the `webhook-id` header so a redelivery is stored once.',
  },
);
export type WebhookMapping = Static<typeof WebhookMappingSchema>;

export const CreateWebhookSourceSchema = Type.Object(
  {
    name: Name,
    verification: Type.Union([Type.Literal('standard-webhooks'), Type.Literal('hmac-sha256')], {
      title: 'Verification',
      description:
        '`standard-webhooks`: webhook-id, webhook-timestamp and webhook-signature headers (standardwebhooks.com); `hmac-sha256`: a hex HMAC-SHA256 of the body in `signatureHeader` (optionally prefixed `sha256=`).',
    }),
    signatureHeader: Type.Optional(
      Type.String({ pattern: '^[A-Za-z0-9-]{1,100}$', title: 'Signature header (hmac-sha256)' }),
    ),
    mapping: WebhookMappingSchema,
  },
  { additionalProperties: false, title: 'Create webhook source' },
);
export type CreateWebhookSourceBody = Static<typeof CreateWebhookSourceSchema>;
