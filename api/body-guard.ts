import type { RequestHandler } from 'express';
import { invalidInput } from './problem.js';

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
 * that could reach an object's prototype, no text that cannot be stored.
 */
export const bodyGuard: RequestHandler = (req, _res, next) => {
  const body: unknown = req.body;
  if (body === undefined || body === null || typeof body !== 'object') {
    next();
    return;
  }
  const finding = inspect(body, '', 0);
  if (finding)
    throw invalidInput('The request body cannot be accepted; nothing was stored.', [finding]);
  next();
};

function inspect(value: unknown, pointer: string, depth: number): Finding | null {
  if (typeof value === 'string') return checkText(value, pointer);
  if (typeof value !== 'object' || value === null) return null;
  if (depth >= MAX_DEPTH)
    return {
      pointer,
      code: 'too-deep',
      message: `The body is nested more than ${MAX_DEPTH} levels deep.`,
    };
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const f = inspect(value[i], `${pointer}/${i}`, depth + 1);
      if (f) return f;
    }
    return null;
  }
  for (const [key, child] of Object.entries(value)) {
    const childPointer = `${pointer}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
    if (FORBIDDEN_KEYS.has(key))
      return {
        pointer: childPointer,
        code: 'forbidden-key',
        message: `\`${key}\` cannot be used as a field name.`,
      };
    const f = checkText(key, childPointer) ?? inspect(child, childPointer, depth + 1);
    if (f) return f;
  }
  return null;
}

function checkText(text: string, pointer: string): Finding | null {
  return UNSTORABLE.test(text)
    ? {
        pointer,
        code: 'unstorable-text',
        message: 'The text contains a NUL character or broken Unicode (a lone surrogate).',
      }
    : null;
}
