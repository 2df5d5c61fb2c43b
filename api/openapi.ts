import type { TSchema } from '@sinclair/typebox';
import type { Express } from 'express';
import { journeyJsonSchema } from '../definitions/index.js';
import { isPublicPath, requiredScope, type Scope } from './auth/index.js';
import type { RouteInfo } from './routes.js';
import {
  CreateApiKeySchema,
  CreateWebhookSourceSchema,
  CreateWorkspaceSchema,
  UpdateWorkspaceSchema,
} from './schemas/api-security.schema.js';
import {
  AttributeDefinitionSchema,
  AttributePolicySchema,
  CreateContactSchema,
  CreateListSchema,
  ListMembersSchema,
  SubscriptionChangeSchema,
  TagsSchema,
  UpdateContactSchema,
} from './schemas/contacts.schema.js';
import { MailEventsSchema } from './schemas/mail-events.schema.js';
import { MessagingPolicySchema } from './schemas/messaging.schema.js';
import { IdentifySchema, TrackSchema } from './schemas/segment.schema.js';
import { BacktestSchema, SimulateSchema } from './schemas/simulate.schema.js';
import { listRoutes } from './routes.js';

/** What a route says about itself in the OpenAPI document. Routes not listed still appear. */
export interface RouteDoc {
  readonly summary: string;
  readonly tag?: string;
  /** The schema that validates the body: the same object the router hands to AJV. */
  readonly body?: TSchema | { readonly name: string; readonly schema: Record<string, unknown> };
}

const docs = new Map<string, RouteDoc>();

/** Routers (or this module, for routes that predate it) describe a route with one call. */
export function documentRoute(method: string, path: string, doc: RouteDoc): void {
  docs.set(`${method.toUpperCase()} ${path}`, doc);
}

documentRoute('POST', '/v1/identify', {
  summary: 'Identify a contact (Segment spec)',
  tag: 'Events',
  body: IdentifySchema,
});
documentRoute('POST', '/v1/track', {
  summary: 'Track an event (Segment spec)',
  tag: 'Events',
  body: TrackSchema,
});
documentRoute('POST', '/v1/journeys/validate', {
  summary: 'Validate a journey definition and show its compiled plan',
  tag: 'Journeys',
  body: { name: 'Journey', schema: journeyJsonSchema() },
});
documentRoute('POST', '/v1/journeys', {
  summary: 'Validate and publish a journey (a new version when it changed)',
  tag: 'Journeys',
  body: { name: 'Journey', schema: journeyJsonSchema() },
});
documentRoute('POST', '/v1/journeys/simulate', {
  summary: 'Preview a journey on a virtual clock over given contacts and events; nothing is sent',
  tag: 'Journeys',
  body: SimulateSchema,
});
documentRoute('POST', '/v1/journeys/backtest', {
  summary:
    'Backtest a journey over a past window of stored events: who would have entered, been sent what, converted; nothing is sent',
  tag: 'Journeys',
  body: BacktestSchema,
});
documentRoute('GET', '/v1/journeys', { summary: 'List journeys', tag: 'Journeys' });
documentRoute('GET', '/v1/journeys/:key', {
  summary: 'A journey with its versions',
  tag: 'Journeys',
});
documentRoute('GET', '/v1/journeys/:key/enrollments', {
  summary: "A journey's enrollments",
  tag: 'Journeys',
});
documentRoute('POST', '/v1/journeys/:key/enrollments', {
  summary:
    'Enroll a contact by hand (`{contact, properties?}`; how a `manual` trigger is entered), under the journey’s entry rules',
  tag: 'Journeys',
});
documentRoute('DELETE', '/v1/users/:id', {
  summary:
    'Remove a user who left: `?reassignTo=` (a user id or email) takes over their open tasks and contacts; admin keys only',
  tag: 'Users',
});
documentRoute('GET', '/v1/contacts/:idOrUserId', {
  summary: 'A contact and its enrollments',
  tag: 'Contacts',
});
documentRoute('POST', '/v1/contacts', {
  summary: 'Create a contact (written as an identify)',
  tag: 'Contacts',
  body: CreateContactSchema,
});
documentRoute('PATCH', '/v1/contacts/:idOrUserId', {
  summary: "Change a contact's email, time zone, locale, owner or attributes",
  tag: 'Contacts',
  body: UpdateContactSchema,
});
documentRoute('GET', '/v1/contacts', {
  summary: 'List contacts (`?tag=`, `?ownerId=`, `?list=`; cursor-paged)',
  tag: 'Contacts',
});
documentRoute('POST', '/v1/contacts/:idOrUserId/tags', {
  summary: 'Add tags to a contact',
  tag: 'Contacts',
  body: TagsSchema,
});
documentRoute('DELETE', '/v1/contacts/:idOrUserId/tags/:tag', {
  summary: 'Remove a tag from a contact',
  tag: 'Contacts',
});
documentRoute('GET', '/v1/contacts/:idOrUserId/subscriptions', {
  summary: 'Email subscription status for all marketing and per category',
  tag: 'Contacts',
});
documentRoute('PUT', '/v1/contacts/:idOrUserId/subscriptions/:category', {
  summary: 'Subscribe or unsubscribe a contact (`all` or a category)',
  tag: 'Contacts',
  body: SubscriptionChangeSchema,
});
documentRoute('POST', '/v1/contacts/import', {
  summary:
    'Import contacts from a CSV file (`text/csv`; `?map=`); with `Prefer: respond-async` or `?async=true`, 202 and a job at `Location`',
  tag: 'Contacts',
});
documentRoute('GET', '/v1/contacts/export.csv', {
  summary: 'Export contacts as CSV',
  tag: 'Contacts',
});
documentRoute('GET', '/v1/imports', {
  summary: 'Background CSV imports of the workspace with their progress (cursor-paged)',
  tag: 'Contacts',
});
documentRoute('GET', '/v1/imports/:id', {
  summary: 'A background CSV import: status, doneRows of totalRows, counts, rejected rows so far',
  tag: 'Contacts',
});
documentRoute('POST', '/v1/lists', {
  summary: 'Create a static list',
  tag: 'Lists',
  body: CreateListSchema,
});
documentRoute('GET', '/v1/lists', { summary: 'Static lists with their sizes', tag: 'Lists' });
documentRoute('GET', '/v1/lists/:list', { summary: 'A list (by id or key)', tag: 'Lists' });
documentRoute('DELETE', '/v1/lists/:list', {
  summary: 'Delete a list (its members leave it)',
  tag: 'Lists',
});
documentRoute('GET', '/v1/lists/:list/members', {
  summary: "A list's members (cursor-paged)",
  tag: 'Lists',
});
documentRoute('POST', '/v1/lists/:list/members', {
  summary: 'Add contacts (by id, user id or email) to a list',
  tag: 'Lists',
  body: ListMembersSchema,
});
documentRoute('DELETE', '/v1/lists/:list/members/:contact', {
  summary: 'Take a contact (id, user id or email) off a list',
  tag: 'Lists',
});
documentRoute('GET', '/v1/attributes', {
  summary: 'Declared custom attributes',
  tag: 'Attributes',
});
documentRoute('GET', '/v1/attributes/:key', { summary: 'A declared attribute', tag: 'Attributes' });
documentRoute('PUT', '/v1/attributes/:key', {
  summary: 'Declare an attribute or change its declaration',
  tag: 'Attributes',
  body: AttributeDefinitionSchema,
});
documentRoute('DELETE', '/v1/attributes/:key', {
  summary: 'Forget a declaration (stored values stay)',
  tag: 'Attributes',
});
documentRoute('GET', '/v1/attribute-policy', {
  summary: 'What happens to undeclared attributes',
  tag: 'Attributes',
});
documentRoute('PUT', '/v1/attribute-policy', {
  summary: 'Store or reject undeclared attributes',
  tag: 'Attributes',
  body: AttributePolicySchema,
});
documentRoute('GET', '/v1/messaging-policy', {
  summary: 'The workspace’s sending rules: quiet hours, send days, frequency cap, tracking, sender',
  tag: 'Email',
});
documentRoute('PUT', '/v1/messaging-policy', {
  summary: 'Set the sending rules (admin); a field left out takes its default',
  tag: 'Email',
  body: MessagingPolicySchema,
});
documentRoute('GET', '/v1/workspaces', { summary: "The caller's workspace", tag: 'Workspaces' });
documentRoute('POST', '/v1/workspaces', {
  summary: 'Create a workspace (operator only)',
  tag: 'Workspaces',
  body: CreateWorkspaceSchema,
});
documentRoute('GET', '/v1/workspaces/:id', { summary: 'A workspace', tag: 'Workspaces' });
documentRoute('PATCH', '/v1/workspaces/:id', {
  summary: 'Rename a workspace',
  tag: 'Workspaces',
  body: UpdateWorkspaceSchema,
});
documentRoute('POST', '/v1/api-keys', {
  summary: 'Create an API key (shown once)',
  tag: 'API keys',
  body: CreateApiKeySchema,
});
documentRoute('GET', '/v1/api-keys', {
  summary: 'List API keys (without secrets)',
  tag: 'API keys',
});
documentRoute('GET', '/v1/api-keys/:id', {
  summary: 'An API key (without secret)',
  tag: 'API keys',
});
documentRoute('DELETE', '/v1/api-keys/:id', { summary: 'Revoke an API key', tag: 'API keys' });
documentRoute('POST', '/v1/webhook-sources', {
  summary: 'Create an inbound webhook source (secret shown once)',
  tag: 'Webhooks',
  body: CreateWebhookSourceSchema,
});
documentRoute('GET', '/v1/webhook-sources', { summary: 'List webhook sources', tag: 'Webhooks' });
documentRoute('GET', '/v1/webhook-sources/:id', { summary: 'A webhook source', tag: 'Webhooks' });
documentRoute('POST', '/v1/webhook-sources/:id/rotate-secret', {
  summary: 'Replace the secret of a webhook source',
  tag: 'Webhooks',
});
documentRoute('DELETE', '/v1/webhook-sources/:id', {
  summary: 'Delete a webhook source',
  tag: 'Webhooks',
});
documentRoute('POST', '/v1/hooks/:sourceId', {
  summary: 'Receive a signed webhook (Standard Webhooks or HMAC)',
  tag: 'Webhooks',
});
documentRoute('POST', '/v1/mail-events', {
  summary: "A mail relay's bounces, complaints and deliveries",
  tag: 'Email',
  body: MailEventsSchema,
});
documentRoute('GET', '/healthz', { summary: 'The process answers', tag: 'Operations' });
documentRoute('GET', '/readyz', { summary: 'The database and Temporal answer', tag: 'Operations' });
documentRoute('GET', '/metrics', { summary: 'Prometheus metrics', tag: 'Operations' });

const SCOPE_TEXT: Record<Scope, string> = {
  admin: 'Needs an `admin` key.',
  write: 'Needs a `write` or `admin` key.',
  ingest: 'Any key, including `ingest` keys.',
};

/** OpenAPI 3.1, built from the live router stack and the request schemas AJV validates with. */
export function openApiDocument(app: Express, serverUrl: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const schemas: Record<string, unknown> = {};
  for (const route of listRoutes(app)) {
    if (route.path === '/v1/openapi.json' || route.path === '/docs') continue;
    const doc = docs.get(`${route.method} ${route.path}`);
    const openApiPath = route.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    (paths[openApiPath] ??= {})[route.method.toLowerCase()] = operation(route, doc, schemas);
  }
  return {
    openapi: '3.1.0',
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    info: {
      title: 'Drumbeat API',
      version: '1',
      description:
        'Marketing automation on Temporal. Authenticate with `Authorization: Bearer <API key>` (or HTTP Basic with the key as user name, as Segment clients do). Errors are RFC 9457 problem+json.',
    },
    servers: [{ url: serverUrl }],
    security: [{ bearer: [] }, { basic: [] }],
    paths,
    components: {
      schemas: { ...schemas, Problem: PROBLEM_SCHEMA },
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'An API key.' },
        basic: {
          type: 'http',
          scheme: 'basic',
          description: 'The API key as user name, empty password.',
        },
      },
      responses: {
        Problem: {
          description: 'An RFC 9457 problem',
          content: {
            'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } },
          },
        },
      },
    },
  };
}

function operation(route: RouteInfo, doc: RouteDoc | undefined, schemas: Record<string, unknown>) {
  const isPublic = isPublicPath(route.path.replace(/:[^/]+/g, 'x'));
  const params = [...route.path.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => ({
    name: m[1],
    in: 'path',
    required: true,
    schema: { type: 'string' },
  }));
  const body = doc?.body ? bodyRef(doc.body, schemas) : null;
  return {
    operationId: `${route.method.toLowerCase()}${route.path.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c?: string) => (c ?? '').toUpperCase())}`,
    summary: doc?.summary ?? `${route.method} ${route.path}`,
    tags: [doc?.tag ?? tagOf(route.path)],
    description: isPublic
      ? 'Public: no API key.'
      : SCOPE_TEXT[requiredScope(route.method, route.path)],
    ...(isPublic ? { security: [] } : {}),
    ...(params.length > 0 ? { parameters: params } : {}),
    ...(route.method === 'POST' && !isPublic
      ? {
          parameters: [
            ...params,
            {
              name: 'Idempotency-Key',
              in: 'header',
              required: false,
              schema: { type: 'string', maxLength: 255 },
              description:
                'Replays the first response for a repeat of this request within 24 hours.',
            },
          ],
        }
      : {}),
    ...(body
      ? { requestBody: { required: true, content: { 'application/json': { schema: body } } } }
      : {}),
    responses: {
      '2XX': { description: 'Success', content: { 'application/json': { schema: {} } } },
      '4XX': { $ref: '#/components/responses/Problem' },
      '5XX': { $ref: '#/components/responses/Problem' },
    },
  };
}

function bodyRef(body: NonNullable<RouteDoc['body']>, schemas: Record<string, unknown>) {
  const named = 'name' in body && typeof body.name === 'string' && 'schema' in body;
  const name = named ? body.name : schemaName(body);
  const plain: unknown = JSON.parse(JSON.stringify(named ? body.schema : body));
  schemas[name] = plain;
  return { $ref: `#/components/schemas/${name}` };
}

function schemaName(schema: object): string {
  const title: unknown = Reflect.get(schema, 'title');
  return typeof title === 'string' ? title.replace(/[^A-Za-z0-9]+/g, '') : 'Body';
}

function tagOf(path: string): string {
  const segment = path.split('/')[path.startsWith('/v1/') ? 2 : 1] ?? 'Other';
  return segment.charAt(0).toUpperCase() + segment.slice(1);
}

const PROBLEM_SCHEMA = {
  type: 'object',
  required: ['type', 'title', 'status', 'detail'],
  properties: {
    type: { type: 'string', format: 'uri' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    instance: { type: 'string' },
    errors: {
      type: 'array',
      items: {
        type: 'object',
        required: ['pointer', 'code', 'detail'],
        properties: {
          pointer: { type: 'string' },
          code: { type: 'string' },
          detail: { type: 'string' },
        },
      },
    },
  },
};
