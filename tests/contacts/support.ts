import { expect } from 'vitest';
import type { ApiClient, JsonResponse } from '../support/http.js';

export interface Problem {
  status: number;
  errors: { pointer: string; code: string; detail: string }[];
}

/** A 422 problem+json naming exactly these pointers. */
export function expectProblem(res: JsonResponse, pointers: string[]): Problem {
  expect(res.status, JSON.stringify(res.body)).toBe(422);
  expect(res.contentType).toContain('application/problem+json');
  const problem = res.body as Problem;
  expect(problem.errors.map((e) => e.pointer).sort()).toEqual([...pointers].sort());
  for (const e of problem.errors) expect(e.detail).toMatch(/\.$/);
  return problem;
}

/** A JSON request with any method (the client has helpers for GET and POST only). */
export async function send(
  api: ApiClient,
  method: string,
  path: string,
  body: unknown,
): Promise<JsonResponse> {
  const res = await api.request(method, path, {
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  });
  const text = await res.text();
  return {
    status: res.status,
    body: text === '' ? null : (JSON.parse(text) as unknown),
    contentType: res.headers.get('content-type'),
    headers: res.headers,
  };
}
