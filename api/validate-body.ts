import type { TSchema, Static } from '@sinclair/typebox';
import type { ValidateFunction } from 'ajv';
import { createAjv, problemsFromAjv } from '../definitions/index.js';
import { invalidInput } from './problem.js';

const ajv = createAjv();

/**
 * A request-body validator compiled once from a schema. The body becomes a typed value only
 * after AJV accepts it; otherwise a 422 problem lists every pointer at fault.
 */
export function bodyValidator<S extends TSchema>(schema: S): (body: unknown) => Static<S> {
  const validate: ValidateFunction<Static<S>> = ajv.compile<Static<S>>(schema);
  return (body) => {
    if (body === undefined || body === null || typeof body !== 'object') {
      throw invalidInput('The request needs a JSON object body (Content-Type: application/json).', [
        { pointer: '', code: 'wrong-type', message: 'The body must be a JSON object.' },
      ]);
    }
    if (!validate(body))
      throw invalidInput('The request body has problems.', problemsFromAjv(validate.errors ?? []));
    return body;
  };
}
