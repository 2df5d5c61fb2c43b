import { createHash } from 'node:crypto';
import type { IncomingMessage } from '../../engine/index.js';
import type { WebhookMapping } from '../schemas/api-security.schema.js';

export interface MappingProblem {
  readonly pointer: string;
  readonly code: string;
  readonly message: string;
}

export type MappingResult =
  /** `identify` (when the payload says something about the contact) comes before `track`. */
  | { readonly ok: true; readonly messages: readonly IncomingMessage[] }
  | { readonly ok: false; readonly problems: readonly MappingProblem[] };

/**
 * Turns any JSON payload into a Segment `track` message through a mapping of JSON pointers or
 * small templates, so a form tool or billing system can start a journey without code.
 */
export function applyMapping(
  mapping: WebhookMapping,
  payload: unknown,
  fallback: { webhookId: string | null; rawBody: Buffer },
): MappingResult {
  const problems: MappingProblem[] = [];
  const text = (field: string, expr: string | undefined, max = 255): string | null => {
    if (expr === undefined) return null;
    const value = resolve(expr, payload);
    if (value === undefined || value === null || value === '') return null;
    if (typeof value !== 'string' && typeof value !== 'number') {
      problems.push({
        pointer: pointerIn(expr),
        code: 'wrong-type',
        message: `The payload's value for \`${field}\` must be text or a number.`,
      });
      return null;
    }
    const s = String(value);
    if (s.length > max) {
      problems.push({
        pointer: pointerIn(expr),
        code: 'too-long',
        message: `The payload's value for \`${field}\` is longer than ${max} characters.`,
      });
      return null;
    }
    return s;
  };

  const event = text('event', mapping.event, 200);
  if (event === null)
    problems.push({
      pointer: pointerIn(mapping.event),
      code: 'required',
      message: 'The payload has no event name where the mapping looks for it.',
    });
  const email = text('email', mapping.email);
  const userId = text('userId', mapping.userId) ?? email;
  const anonymousId = text('anonymousId', mapping.anonymousId);
  if (userId === null && anonymousId === null)
    problems.push({
      pointer: pointerIn(mapping.userId ?? mapping.email ?? ''),
      code: 'required',
      message:
        'The payload says nothing about who this is (no user id or e-mail where the mapping looks).',
    });
  const timestampText = text('timestamp', mapping.timestamp, 64);
  const timestamp =
    timestampText === null
      ? new Date()
      : new Date(/^\d+$/.test(timestampText) ? Number(timestampText) * 1000 : timestampText);
  if (Number.isNaN(timestamp.getTime()))
    problems.push({
      pointer: pointerIn(mapping.timestamp ?? ''),
      code: 'bad-format',
      message: "The payload's timestamp is not a date.",
    });

  if (problems.length > 0 || event === null) return { ok: false, problems };
  const messageId =
    text('messageId', mapping.messageId) ??
    fallback.webhookId ??
    // Without an id of its own, the same payload delivered twice is the same message.
    createHash('sha256').update(fallback.rawBody).digest('hex');
  const traits = resolveAll(mapping.traits, payload);
  if (email !== null) traits.email = email;
  const who = { userId, anonymousId, timestamp };
  const track: IncomingMessage = {
    ...who,
    type: 'track',
    messageId,
    event,
    traits: {},
    properties: resolveAll(mapping.properties, payload),
  };
  if (Object.keys(traits).length === 0) return { ok: true, messages: [track] };
  const identify: IncomingMessage = {
    ...who,
    type: 'identify',
    messageId: `${messageId}:identify`,
    event: null,
    traits,
    properties: {},
  };
  return { ok: true, messages: [identify, track] };
}

function resolveAll(
  fields: Readonly<Record<string, string>> | undefined,
  payload: unknown,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, expr] of Object.entries(fields ?? {})) {
    const value = resolve(expr, payload);
    if (value !== undefined) out[name] = value;
  }
  return out;
}

/** A pointer (`/a/b`) gives the value itself; anything else is a template with `{{/pointer}}`. */
export function resolve(expr: string, payload: unknown): unknown {
  if (expr.startsWith('/')) return atPointer(payload, expr);
  return expr.replace(/\{\{\s*(\/[^}\s]*)\s*\}\}/g, (_m, pointer: string) => {
    const value = atPointer(payload, pointer);
    return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
      ? String(value)
      : '';
  });
}

/** RFC 6901, following own properties only, so `__proto__` or `constructor` lead nowhere. */
export function atPointer(document: unknown, pointer: string): unknown {
  if (pointer === '') return document;
  let current: unknown = document;
  for (const raw of pointer.slice(1).split('/')) {
    const token = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(current)) {
      if (!/^(0|[1-9]\d*)$/.test(token)) return undefined;
      current = current[Number(token)];
    } else if (typeof current === 'object' && current !== null && Object.hasOwn(current, token)) {
      const next: unknown = Reflect.get(current, token);
      current = next;
    } else {
      return undefined;
    }
  }
  return current;
}

function pointerIn(expr: string): string {
  if (expr.startsWith('/')) return expr;
  return /\{\{\s*(\/[^}\s]*)\s*\}\}/.exec(expr)?.[1] ?? '';
}
