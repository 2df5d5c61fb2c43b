import type { RequestHandler } from 'express';
import { badAddress, invalidInput } from './problem.js';

const MAX_DEPTH = 32;
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
// A lone surrogate cannot be stored as UTF-8 (PostgreSQL refuses it) and NUL cannot be stored in
// text at all: both are turned away here instead of failing deep inside a transaction.
// eslint-disable-next-line no-control-regex -- NUL is exactly what this looks for.
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

interface Finding {
  readonly pointer: string;
  readonly code: string;
  readonly message: string;
}

/**
 * Checks every JSON body before any router sees it: no nesting deeper than MAX_DEPTH, no keys
 * that could reach an object's prototype, no text or number that cannot be stored.
 */
export const bodyGuard: RequestHandler = (req, _res, next) => {
  const body: unknown = req.body;
  if (body === undefined || body === null || typeof body !== 'object') {
    next();
    return;
  }
  const path: (string | number)[] = [];
  const finding = inspect(body, path);
  if (finding)
    throw invalidInput('The request body cannot be accepted; nothing was stored.', [
      { ...finding, pointer: pointerOf(path) },
    ]);
  next();
};

/**
 * Walks the body depth first. `path` is the way down to the value being looked at; it is
 * left pointing at the finding, whose pointer is only then spelled out (every request passes
 * here, and almost none has a finding).
 */
function inspect(value: unknown, path: (string | number)[]): Omit<Finding, 'pointer'> | null {
  if (typeof value === 'string') return checkText(value);
  // JSON has no infinity, but a literal like 1e400 parses to one, which would be stored as null.
  if (typeof value === 'number')
    return Number.isFinite(value)
      ? null
      : {
          code: 'number-out-of-range',
          message: 'This number is too large to store; send it as text if it must be kept.',
        };
  if (typeof value !== 'object' || value === null) return null;
  if (path.length >= MAX_DEPTH)
    return {
      code: 'too-deep',
      message: `The body is nested more than ${MAX_DEPTH} levels deep.`,
    };
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      path.push(i);
      const f = inspect(value[i], path);
      if (f) return f;
      path.pop();
    }
    return null;
  }
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    path.push(key);
    if (FORBIDDEN_KEYS.has(key))
      return {
        code: 'forbidden-key',
        message: `\`${key}\` cannot be used as a field name.`,
      };
    const f = checkText(key) ?? inspect((value as Record<string, unknown>)[key], path);
    if (f) return f;
    path.pop();
  }
  return null;
}

function pointerOf(path: readonly (string | number)[]): string {
  return path.map((p) => `/${String(p).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
}

function checkText(text: string): Omit<Finding, 'pointer'> | null {
  return UNSTORABLE.test(text)
    ? {
        code: 'unstorable-text',
        message: 'The text contains a NUL character or broken Unicode (a lone surrogate).',
      }
    : null;
}

/**
 * Turns away an address (path or query) that decodes to a NUL character, which no text column
 * can hold: `/v1/contacts/%00` reached PostgreSQL and failed there as a 500.
 */
export const addressGuard: RequestHandler = (req, _res, next) => {
  if (req.url.includes('%00'))
    throw badAddress('The address contains a NUL character (%00), which no id or filter can hold.');
  next();
};
