import { Ajv2020, type ErrorObject } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { fullFormats } from 'ajv-formats/dist/formats.js';
import { pointerOf, type Problem } from './problem.js';
import { isRecord } from '../core/index.js';

/** One AJV instance for every document type: strict, all errors, formats, discriminators. */
export function createAjv(): Ajv2020 {
  const ajv = new Ajv2020({
    strict: true,
    allErrors: true,
    discriminator: true,
    allowUnionTypes: true,
    verbose: true,
  });
  addFormats.default(ajv);
  // RFC 3339 allows what JavaScript cannot read (`+00` offsets without minutes, leap seconds):
  // such a value would pass here and become an Invalid Date past validation.
  const rfc3339 = fullFormats['date-time'] as {
    validate: (value: string) => boolean;
    compare: (a: string, b: string) => number | undefined;
  };
  // And years the database cannot store: an offset can carry 0001-01-01T00:00:00+01:00 into
  // year 0, or 9999-12-31T23:00:00-05:00 into 10000.
  ajv.addFormat('date-time', {
    type: 'string',
    validate: (value: string) => rfc3339.validate(value) && storableTime(Date.parse(value)),
    compare: rfc3339.compare,
  });
  return ajv;
}

/** The first and last instants (UTC) of the years 1 to 9999, which PostgreSQL stores. */
const EARLIEST_MS = Date.parse('0001-01-01T00:00:00Z'); // Date.UTC reads year 1 as 1901
const LATEST_MS = Date.parse('9999-12-31T23:59:59.999Z');

/** An instant PostgreSQL can store: years 1 to 9999. */
export function storableTime(ms: number): boolean {
  return !Number.isNaN(ms) && ms >= EARLIEST_MS && ms <= LATEST_MS;
}

/** Turns AJV's errors into problems a marketer can act on, one per place. */
export function problemsFromAjv(errors: readonly ErrorObject[]): Problem[] {
  const seen = new Set<string>();
  const problems: Problem[] = [];
  // A value that fits none of a union's kinds is one problem, not one per kind it missed.
  const unions = errors.filter(
    (e) => e.keyword === 'anyOf' || (e.keyword === 'oneOf' && e.params.passingSchemas == null),
  );
  const insideUnion = (e: ErrorObject) =>
    unions.some((u) => u !== e && e.schemaPath.startsWith(`${u.schemaPath}/`));
  for (const e of errors) {
    // An unknown `type` is already reported by the enum beside the discriminator.
    if (e.keyword === 'discriminator' || insideUnion(e)) continue;
    const problem = describe(e);
    const id = `${problem.pointer}|${problem.code}|${problem.message}`;
    if (!seen.has(id)) {
      seen.add(id);
      problems.push(problem);
    }
  }
  return problems;
}

function describe(e: ErrorObject): Problem {
  // The whole document is the empty pointer (RFC 6901): `/` would name a key called "".
  const where = e.instancePath;
  const field = (e.parentSchema?.title as string | undefined) ?? lastSegment(e.instancePath);
  switch (e.keyword) {
    case 'required': {
      const missing = String(e.params.missingProperty);
      return {
        pointer: `${e.instancePath}${pointerOf(missing)}`,
        code: 'required',
        message: `\`${missing}\` is required here.`,
      };
    }
    case 'additionalProperties': {
      const extra = String(e.params.additionalProperty);
      return {
        pointer: `${e.instancePath}${pointerOf(extra)}`,
        code: 'unknown-property',
        message: `\`${extra}\` is not a setting this ${describeObject(e)} understands.`,
      };
    }
    case 'discriminator': {
      const tag = String(e.params.tag);
      return {
        pointer: `${e.instancePath}/${tag}`,
        code: 'unknown-type',
        message: `\`${tag}\` must be one of the known kinds: ${knownTags(e).join(', ')}.`,
      };
    }
    case 'type':
      return {
        pointer: where,
        code: 'wrong-type',
        message: `${cap(field)} must be ${article(String(e.params.type))}.`,
      };
    case 'pattern':
      return {
        pointer: where,
        code: 'bad-format',
        message: `${cap(field)} is not in the expected form. ${descriptionOf(e)}`.trim(),
      };
    case 'enum':
    case 'const':
      return {
        pointer: where,
        code: 'not-allowed',
        message: `${cap(field)} must be one of: ${allowed(e)}.`,
      };
    case 'minItems':
      return {
        pointer: where,
        code: 'too-few',
        message: `${cap(field)} needs at least ${String(e.params.limit)} item(s).`,
      };
    case 'maxItems':
      return {
        pointer: where,
        code: 'too-many',
        message: `${cap(field)} can have at most ${String(e.params.limit)} items.`,
      };
    case 'minLength':
      return { pointer: where, code: 'too-short', message: `${cap(field)} cannot be empty.` };
    case 'maxLength':
      return {
        pointer: where,
        code: 'too-long',
        message: `${cap(field)} is longer than ${String(e.params.limit)} characters.`,
      };
    case 'anyOf':
    case 'oneOf':
      return {
        pointer: where,
        code: 'wrong-type',
        message: `${cap(field)} does not fit. ${descriptionOf(e)}`.trim(),
      };
    case 'format':
      return {
        pointer: where,
        code: 'bad-format',
        message:
          e.params.format === 'date-time'
            ? `${cap(field)} must be a date and time such as 2026-12-07T09:30:00Z, in the years 1 to 9999.`
            : `${cap(field)} must be a valid ${String(e.params.format)}.`,
      };
    default:
      return {
        pointer: where,
        code: e.keyword,
        message: `${cap(field)} ${e.message ?? 'is not valid'}.`,
      };
  }
}

function describeObject(e: ErrorObject): string {
  const title: unknown = e.parentSchema?.title;
  return typeof title === 'string' ? `“${title}”` : 'object';
}

function knownTags(e: ErrorObject): string[] {
  const branches: unknown = e.parentSchema?.oneOf;
  if (!Array.isArray(branches)) return [];
  return branches.flatMap((b: unknown) => {
    const tag =
      isRecord(b) && isRecord(b.properties) && isRecord(b.properties.type)
        ? b.properties.type.const
        : undefined;
    return typeof tag === 'string' ? [`\`${tag}\``] : [];
  });
}

function allowed(e: ErrorObject): string {
  const values: unknown = e.keyword === 'const' ? [e.params.allowedValue] : e.params.allowedValues;
  return Array.isArray(values) ? values.map((v) => `\`${String(v)}\``).join(', ') : '';
}

function descriptionOf(e: ErrorObject): string {
  const d: unknown = e.parentSchema?.description;
  return typeof d === 'string' ? d : '';
}

function lastSegment(pointer: string): string {
  const last = pointer.split('/').pop();
  return last ? `\`${last.replace(/~1/g, '/').replace(/~0/g, '~')}\`` : 'the document';
}

function article(type: string): string {
  const words: Record<string, string> = {
    string: 'text',
    number: 'a number',
    integer: 'a whole number',
    boolean: 'true or false',
    object: 'an object ({ … })',
    array: 'a list ([ … ])',
    null: 'null',
  };
  return words[type] ?? type;
}

function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
