import { createHash } from 'node:crypto';
import type { IncomingMessage } from '../../engine/index.js';
import type { WebhookMapping } from '../schemas/api-security.schema.js';

export interface MappingProblem {
  readonly pointer: string;
  readonly code: string;
  readonly message: string;
}

export type MappingResult =
  | {
      readonly ok: true;
      /** `identify` (when the payload says something about the contact) comes before `track`. */
      readonly messages: readonly IncomingMessage[];
      /**
       * The e-mail address that names the contact when the payload gives no user id: the
       * contact holding it is meant (the messages' `userId` is the address, for when none does).
       */
      readonly byEmail: string | null;
    }
  | { readonly ok: false; readonly problems: readonly MappingProblem[] };

/** The dates a timestamp may give (the store's range, and none before the epoch). */
const LATEST_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
/** Epoch numbers from here on are milliseconds (1e11 seconds is the year 5138). */
const MILLISECONDS_FROM = 1e11;

/**
 * Turns any JSON payload into a Segment `track` message through a mapping of JSON pointers or
 * small templates, so a form tool or billing system can start a journey without code. Any
 * problem (a value missing or of the wrong kind) fails the whole call, so nothing is stored.
 */
export function applyMapping(
  mapping: WebhookMapping,
  payload: unknown,
  fallback: { webhookId: string | null; rawBody: Buffer },
): MappingResult {
  const problems: MappingProblem[] = [];
  /** The value of a mapping field; a template missing one of its values is a problem. */
  const value = (field: string, expr: string): unknown => {
    const resolved = resolve(expr, payload);
    if (resolved.ok) return resolved.value;
    problems.push({
      pointer: resolved.pointer,
      code: 'required',
      message: `The payload has no text, number or boolean at \`${resolved.pointer}\`, which the mapping's \`${field}\` template needs.`,
    });
    return undefined;
  };
  const text = (field: string, expr: string | undefined, max = 255): string | null => {
    if (expr === undefined) return null;
    const found = value(field, expr);
    if (found === undefined || found === null || found === '') return null;
    if (typeof found !== 'string' && typeof found !== 'number') {
      problems.push({
        pointer: pointerIn(expr),
        code: 'wrong-type',
        message: `The payload's value for \`${field}\` must be text or a number.`,
      });
      return null;
    }
    const s = String(found);
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
  const values = (group: string, fields: Readonly<Record<string, string>> | undefined) => {
    const out: Record<string, unknown> = {};
    for (const [name, expr] of Object.entries(fields ?? {})) {
      const found = value(`${group}.${name}`, expr);
      if (found !== undefined) out[name] = found;
    }
    return out;
  };

  let reported = problems.length;
  const event = text('event', mapping.event, 200);
  if (event === null && problems.length === reported)
    problems.push({
      pointer: pointerIn(mapping.event),
      code: 'required',
      message: 'The payload has no event name where the mapping looks for it.',
    });
  reported = problems.length;
  const email = text('email', mapping.email);
  const mappedUserId = text('userId', mapping.userId);
  const anonymousId = text('anonymousId', mapping.anonymousId);
  // With only an email, the contact holding it is meant (see `byEmail`); the address is the
  // user id of the contact made when none holds it.
  const userId = mappedUserId ?? email;
  if (userId === null && anonymousId === null && problems.length === reported)
    problems.push({
      pointer: pointerIn(mapping.userId ?? mapping.email ?? ''),
      code: 'required',
      message:
        'The payload says nothing about who this is (no user id or e-mail where the mapping looks).',
    });
  const timestamp = timestampOf(text('timestamp', mapping.timestamp, 64));
  if (typeof timestamp === 'string')
    problems.push({
      pointer: pointerIn(mapping.timestamp ?? ''),
      code: timestamp,
      message:
        timestamp === 'bad-format'
          ? "The payload's timestamp is not a date (ISO 8601, or seconds or milliseconds since 1970)."
          : "The payload's timestamp is before 1970 or after 9999.",
    });
  const messageId =
    text('messageId', mapping.messageId) ??
    webhookMessageId(fallback.webhookId) ??
    // Without an id of its own, the same payload delivered twice is the same message.
    createHash('sha256').update(fallback.rawBody).digest('hex');
  const traits = values('traits', mapping.traits);
  const properties = values('properties', mapping.properties);

  if (problems.length > 0 || event === null || typeof timestamp === 'string')
    return { ok: false, problems };
  if (email !== null) traits.email = email;
  const who = { userId, anonymousId, timestamp };
  const byEmail = mappedUserId === null ? email : null;
  const track: IncomingMessage = {
    ...who,
    type: 'track',
    messageId,
    event,
    traits: {},
    properties,
  };
  if (Object.keys(traits).length === 0) return { ok: true, messages: [track], byEmail };
  const identify: IncomingMessage = {
    ...who,
    type: 'identify',
    messageId: `${messageId}:identify`,
    event: null,
    traits,
    properties: {},
  };
  return { ok: true, messages: [identify, track], byEmail };
}

/**
 * A timestamp: now when the payload gives none; a number of seconds since 1970, or of
 * milliseconds from 1e11 on (`Date.now()`); or a date as `Date` reads it (ISO 8601). Dates
 * before 1970 or after 9999 are refused here, before anything is written, rather than by the
 * store after the contact was.
 */
function timestampOf(text: string | null): Date | 'bad-format' | 'out-of-range' {
  if (text === null) return new Date();
  const epoch = /^\d+(\.\d+)?$/.test(text) ? Number(text) : null;
  const ms =
    epoch === null
      ? new Date(text).getTime()
      : Math.round(epoch >= MILLISECONDS_FROM ? epoch : epoch * 1000);
  if (Number.isNaN(ms)) return 'bad-format';
  return ms >= 0 && ms <= LATEST_MS ? new Date(ms) : 'out-of-range';
}

/** A value found, or the first pointer of a template that found no text, number or boolean. */
export type Resolved =
  { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly pointer: string };

const TEMPLATE_POINTER = /\{\{\s*(\/[^}\s]*)\s*\}\}/g;

/**
 * A pointer (`/a/b`) gives the value itself (`undefined` when missing); anything else is a
 * template with `{{/pointer}}`, every one of which must find text (not empty), a number or a
 * boolean: a template filled in with nothing would make up a name or an id (`stripe_`).
 */
export function resolve(expr: string, payload: unknown): Resolved {
  if (expr.startsWith('/')) return { ok: true, value: atPointer(payload, expr) };
  const missing: string[] = [];
  const value = expr.replace(TEMPLATE_POINTER, (_m, pointer: string) => {
    const found = atPointer(payload, pointer);
    if (
      (typeof found === 'string' && found !== '') ||
      typeof found === 'number' ||
      typeof found === 'boolean'
    )
      return String(found);
    missing.push(pointer);
    return '';
  });
  const [first] = missing;
  return first === undefined ? { ok: true, value } : { ok: false, pointer: first };
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
  return new RegExp(TEMPLATE_POINTER.source).exec(expr)?.[1] ?? '';
}

/**
 * The sender's `webhook-id` as the message id, or its hash when it is longer than a message id
 * may be: stored as it is, a few thousand characters failed the insert (a 500 on every
 * redelivery), while the hash still makes a redelivery the same message.
 */
function webhookMessageId(id: string | null): string | null {
  if (id === null) return null;
  return id.length <= 255 ? id : `webhook-id:${createHash('sha256').update(id).digest('hex')}`;
}
