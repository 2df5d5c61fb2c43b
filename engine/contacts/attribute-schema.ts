import { LIFECYCLE_STAGES } from '../../definitions/common.schema.js';
import type { PrismaClient } from '@prisma/client';

/** The types a workspace can declare for a custom attribute. */
export const ATTRIBUTE_TYPES = [
  'text',
  'number',
  'boolean',
  'date',
  'email',
  'enum',
  'list',
] as const;
export type AttributeType = (typeof ATTRIBUTE_TYPES)[number];

export const UNKNOWN_ATTRIBUTE_POLICIES = ['store', 'reject'] as const;
export type UnknownAttributePolicy = (typeof UNKNOWN_ATTRIBUTE_POLICIES)[number];

/** What a declared name must look like: the same as `contact.<attribute>` in conditions. */
export const ATTRIBUTE_KEY_PATTERN = '^[A-Za-z_][A-Za-z0-9_]{0,63}$';

export interface AttributeDefinitionView {
  readonly key: string;
  readonly type: AttributeType;
  readonly label: string | null;
  /** The allowed values of an `enum`. */
  readonly values: readonly string[];
}

export interface AttributeSchema {
  readonly definitions: ReadonlyMap<string, AttributeDefinitionView>;
  readonly unknownAttributes: UnknownAttributePolicy;
}

/**
 * Traits Drumbeat itself gives meaning to. They are always known (whatever the policy) and
 * cannot be declared; those with a type are checked on every write.
 */
const BUILT_IN: ReadonlyMap<string, 'email' | 'timezone' | 'locale' | 'list' | 'stage' | 'any'> =
  new Map([
    ['email', 'email'],
    ['timezone', 'timezone'],
    ['locale', 'locale'],
    ['tags', 'list'],
    ['lifecycleStage', 'stage'],
    ['firstName', 'any'],
    ['lastName', 'any'],
    ['first_name', 'any'],
    ['last_name', 'any'],
    ['name', 'any'],
  ]);

/** Names a definition may not take: built-in traits and fields the contact has of its own. */
export function isReservedAttribute(key: string): boolean {
  return (
    (BUILT_IN.has(key) && BUILT_IN.get(key) !== 'any') ||
    ['id', 'userId', 'anonymousId', 'ownerId', 'lists', 'scores', 'unsubscribed'].includes(key)
  );
}

const TTL_MS = 1_000;
const cache = new Map<string, { readonly at: number; readonly schema: Promise<AttributeSchema> }>();

/**
 * The workspace's declared attributes and its policy for the others. Read on every identify,
 * so kept for a second (like active scoring plans): another process's change is seen within
 * that second, this process's at once (`forgetAttributeSchema`).
 */
export function attributeSchema(
  prisma: PrismaClient,
  workspaceId: string,
  now = Date.now(),
): Promise<AttributeSchema> {
  const hit = cache.get(workspaceId);
  if (hit && now - hit.at < TTL_MS) return hit.schema;
  const schema = loadSchema(prisma, workspaceId);
  cache.set(workspaceId, { at: now, schema });
  schema.catch(() => cache.delete(workspaceId));
  return schema;
}

export function forgetAttributeSchema(workspaceId: string): void {
  cache.delete(workspaceId);
}

async function loadSchema(prisma: PrismaClient, workspaceId: string): Promise<AttributeSchema> {
  const [rows, policy] = await Promise.all([
    prisma.attributeDefinition.findMany({ where: { workspaceId } }),
    prisma.attributePolicy.findUnique({ where: { workspaceId } }),
  ]);
  return {
    definitions: new Map(rows.map((r) => [r.key, definitionOf(r)])),
    unknownAttributes: policy?.unknownAttributes === 'reject' ? 'reject' : 'store',
  };
}

/** A stored row as a definition; rows are written only through the validated API. */
export function definitionOf(row: {
  key: string;
  type: string;
  label: string | null;
  values: string[];
}): AttributeDefinitionView {
  const type = ATTRIBUTE_TYPES.find((t) => t === row.type) ?? 'text';
  return { key: row.key, type, label: row.label, values: row.values };
}

/**
 * Attributes the engine writes itself, each through its own path that checks and records it:
 * written as a trait or an attribute they would skip those checks (an `ownerId` naming no user
 * of the workspace, an `unsubscribed` that no unsubscribe recorded, a lead score set or wiped
 * by anyone holding the website's ingest key, which journeys on `score.lead` then act on).
 */
const MANAGED: ReadonlyMap<string, string> = new Map([
  [
    'lists',
    '`lists` cannot be set as an attribute; add the contact to lists with POST /v1/lists/{list}/members.',
  ],
  [
    'scores',
    '`scores` cannot be set as an attribute: scores come from the workspace’s scoring models and from journeys’ adjustScore steps.',
  ],
  [
    'unsubscribed',
    '`unsubscribed` cannot be set as an attribute; change what the contact receives with PUT /v1/contacts/{contact}/subscriptions/{category} (`all` for everything).',
  ],
  [
    'ownerId',
    '`ownerId` cannot be set as an attribute; give it as the contact’s own `ownerId` field (a user of this workspace) with POST or PATCH /v1/contacts.',
  ],
]);

export interface AttributeProblem {
  /** JSON pointer below the object that was checked (`/plan`). */
  readonly pointer: string;
  readonly code: string;
  readonly message: string;
}

export type CheckedAttributes =
  | { readonly ok: true; readonly values: Record<string, unknown> }
  | { readonly ok: false; readonly problems: readonly AttributeProblem[] };

/**
 * `json`: values as a JSON body carries them (a number is a number). `text`: every value is
 * text, as in a CSV cell, and is read as its declared type (`42`, `yes`, `pro, beta`).
 */
export type ValueSource = 'json' | 'text';

/**
 * Checks attribute values (identify traits, a contact update, a CSV row) against the schema
 * and returns them normalised: dates as ISO 8601, emails trimmed, enum values as declared,
 * time zones and locales in their canonical spelling. `null` is always allowed (it clears).
 */
export function checkAttributes(
  schema: AttributeSchema,
  values: Readonly<Record<string, unknown>>,
  source: ValueSource = 'json',
): CheckedAttributes {
  const problems: AttributeProblem[] = [];
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(values)) {
    const pointer = `/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`;
    const managed = MANAGED.get(key);
    if (managed !== undefined) {
      problems.push({ pointer, code: 'managed', message: managed });
      continue;
    }
    const declared = schema.definitions.get(key);
    const builtIn = BUILT_IN.get(key);
    if (value === null || value === undefined) {
      if (!declared && builtIn === undefined && schema.unknownAttributes === 'reject')
        problems.push(unknown(pointer, key));
      else out[key] = value;
      continue;
    }
    if (declared) {
      const result = readValue(declared, value, source);
      if (result.ok) out[key] = result.value;
      else problems.push({ pointer, code: 'wrong-type', message: `\`${key}\` ${result.reason}` });
      continue;
    }
    if (builtIn !== undefined) {
      const result = readBuiltIn(builtIn, value, source);
      if (result.ok) out[key] = result.value;
      else problems.push({ pointer, code: 'wrong-type', message: `\`${key}\` ${result.reason}` });
      continue;
    }
    if (schema.unknownAttributes === 'reject') problems.push(unknown(pointer, key));
    else out[key] = value;
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, values: out };
}

function unknown(pointer: string, key: string): AttributeProblem {
  return {
    pointer,
    code: 'unknown-attribute',
    message: `\`${key}\` is not a declared attribute, and this workspace rejects undeclared ones; declare it first (PUT /v1/attributes/${key}).`,
  };
}

type Read = { readonly ok: true; readonly value: unknown } | { ok: false; reason: string };

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})$/;
/** Decimal only: `Number()` would also read `0x1F`, `0b101` and `0o17`. */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function readValue(definition: AttributeDefinitionView, value: unknown, source: ValueSource): Read {
  switch (definition.type) {
    case 'text':
      return typeof value === 'string'
        ? { ok: true, value }
        : { ok: false, reason: `must be text, not ${describe(value)}.` };
    case 'number':
      return readNumber(value, source);
    case 'boolean':
      return readBoolean(value, source);
    case 'date':
      return readDate(value);
    case 'email':
      return readEmail(value);
    case 'enum':
      return readEnum(definition.values, value);
    case 'list':
      return readList(value, source);
  }
}

function readBuiltIn(
  kind: 'email' | 'timezone' | 'locale' | 'list' | 'stage' | 'any',
  value: unknown,
  source: ValueSource,
): Read {
  switch (kind) {
    case 'email':
      return readEmail(value);
    case 'timezone':
      return readTimeZone(value);
    case 'locale':
      return readLocale(value);
    case 'list':
      return readList(value, source);
    case 'stage': {
      if (typeof value !== 'string')
        return { ok: false, reason: `must be text, not ${describe(value)}.` };
      // Conditions and lifecycleChange triggers name the stages as listed: `Customer` is kept
      // as `customer`. Another name is kept as sent (nothing a client sends is lost), though
      // no condition can name it.
      const stage = LIFECYCLE_STAGES.find((s) => s === value.trim().toLowerCase());
      return { ok: true, value: stage ?? value };
    }
    case 'any':
      return { ok: true, value };
  }
}

function readNumber(value: unknown, source: ValueSource): Read {
  if (typeof value === 'number' && Number.isFinite(value)) return { ok: true, value };
  if (source === 'text' && typeof value === 'string' && value.trim() !== '') {
    const text = value.trim();
    const n = DECIMAL.test(text) ? Number(text) : NaN;
    if (Number.isFinite(n)) return { ok: true, value: n };
  }
  return { ok: false, reason: `must be a number, not ${describe(value)}.` };
}

const TRUE = new Set(['true', 'yes', '1']);
const FALSE = new Set(['false', 'no', '0']);

function readBoolean(value: unknown, source: ValueSource): Read {
  if (typeof value === 'boolean') return { ok: true, value };
  if (source === 'text' && typeof value === 'string') {
    const word = value.trim().toLowerCase();
    if (TRUE.has(word)) return { ok: true, value: true };
    if (FALSE.has(word)) return { ok: true, value: false };
  }
  return {
    ok: false,
    reason: `must be true or false${source === 'text' ? ' (or yes/no, 1/0)' : ''}, not ${describe(value)}.`,
  };
}

function readDate(value: unknown): Read {
  const bad: Read = {
    ok: false,
    reason: `must be a date such as 2025-05-01 or 2025-05-01T09:00:00Z, not ${describe(value)}.`,
  };
  if (typeof value !== 'string') return bad;
  const text = value.trim();
  const day = DATE_ONLY.exec(text);
  // A calendar date stays a date (no time zone to shift it across midnight).
  if (day) return isCalendarDate(day) ? { ok: true, value: text } : bad;
  // `Date.parse` rolls 2025-02-30T09:00Z over to 2 March: the date part is checked first.
  const moment = DATE_TIME.exec(text);
  if (!moment || !isCalendarDate(moment)) return bad;
  const ms = Date.parse(text.replace(' ', 'T'));
  return Number.isNaN(ms) ? bad : { ok: true, value: new Date(ms).toISOString() };
}

/** Whether year, month and day (groups 1-3) name a day of the calendar (no 30 February). */
function isCalendarDate([, y, m, d]: RegExpExecArray): boolean {
  const at = new Date(Date.UTC(Number(y), Number(m) - 1, Number(d)));
  return at.getUTCDate() === Number(d) && at.getUTCMonth() === Number(m) - 1;
}

/** The longest address SMTP can carry (RFC 5321: a 256-octet path, less its angle brackets). */
export const MAX_EMAIL_LENGTH = 254;

function readEmail(value: unknown): Read {
  if (typeof value === 'string' && EMAIL.test(value.trim())) {
    const email = value.trim();
    // Longer ones cannot be sent to, and would not fit the index of contacts' emails.
    if ([...email].length > MAX_EMAIL_LENGTH)
      return {
        ok: false,
        reason: `must be an email address of at most ${MAX_EMAIL_LENGTH} characters.`,
      };
    return { ok: true, value: email };
  }
  return { ok: false, reason: `must be an email address, not ${describe(value)}.` };
}

function readEnum(allowed: readonly string[], value: unknown): Read {
  if (typeof value === 'string') {
    const wanted = value.trim().toLowerCase();
    const match = allowed.find((a) => a.toLowerCase() === wanted);
    if (match !== undefined) return { ok: true, value: match };
  }
  return {
    ok: false,
    reason: `must be one of ${allowed.map((a) => `\`${a}\``).join(', ')}, not ${describe(value)}.`,
  };
}

function readList(value: unknown, source: ValueSource): Read {
  const items = Array.isArray(value)
    ? value
    : source === 'text' && typeof value === 'string'
      ? (jsonTextList(value) ?? value.split(','))
      : null;
  if (items === null || !items.every((i) => typeof i === 'string'))
    return {
      ok: false,
      reason: `must be a list of text${source === 'text' ? ' (separated by commas)' : ''}, not ${describe(value)}.`,
    };
  const texts = items.map((i) => String(i).trim()).filter((i) => i !== '');
  return { ok: true, value: [...new Set(texts)] };
}

/**
 * A cell holding a JSON array of strings, as the CSV export writes lists (`["vip","beta"]`),
 * or null when it is not one (then the cell is read as `vip, beta`).
 */
function jsonTextList(text: string): string[] | null {
  if (!text.trim().startsWith('[')) return null;
  try {
    const parsed: unknown = JSON.parse(text);
    return Array.isArray(parsed) && parsed.every((i) => typeof i === 'string') ? parsed : null;
  } catch {
    return null;
  }
}

function readTimeZone(value: unknown): Read {
  const zone = typeof value === 'string' ? canonicalZone(value.trim()) : null;
  return zone
    ? { ok: true, value: zone }
    : {
        ok: false,
        reason: `must be an IANA time zone such as Europe/Paris, not ${describe(value)}.`,
      };
}

/** The zone's canonical IANA name, or null; offsets such as `+01:00` are not zones. */
export function canonicalZone(name: string): string | null {
  if (name === '' || /^[+-]/.test(name)) return null;
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    return null;
  }
}

function readLocale(value: unknown): Read {
  const locale = typeof value === 'string' ? canonicalLocale(value.trim()) : null;
  return locale
    ? { ok: true, value: locale }
    : { ok: false, reason: `must be a BCP 47 language tag such as en-GB, not ${describe(value)}.` };
}

/** The tag in BCP 47 canonical form (`en-us` → `en-US`), or null when it is not one. */
export function canonicalLocale(tag: string): string | null {
  if (tag === '') return null;
  try {
    return Intl.getCanonicalLocales(tag)[0] ?? null;
  } catch {
    return null;
  }
}

/** A short description of a wrong value for a message, without quoting long text. */
function describe(value: unknown): string {
  if (typeof value === 'string')
    return value.length > 40 ? `the text \`${value.slice(0, 40)}…\`` : `\`${value}\``;
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object' && value !== null) return 'an object';
  return `\`${String(value)}\``;
}
