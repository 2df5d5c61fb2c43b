import { expect } from 'vitest';
import { apiClient, type ApiClient } from '../support/http.js';

export interface OtherWorkspace {
  readonly id: string;
  readonly api: ApiClient;
  readonly key: string;
}

/** A fresh workspace, created as the operator would, with a client holding its first admin key. */
export async function createWorkspace(operator: ApiClient, name: string): Promise<OtherWorkspace> {
  const res = await operator.post('/v1/workspaces', { name });
  expect(res.status).toBe(201);
  const body = res.body as { id: string; adminKey: { key: string } };
  return {
    id: body.id,
    key: body.adminKey.key,
    api: apiClient({
      apiUrl: operator.baseUrl,
      apiHeaders: { authorization: `Bearer ${body.adminKey.key}` },
    }),
  };
}

export function clientWith(base: ApiClient, headers: Record<string, string>): ApiClient {
  return apiClient({ apiUrl: base.baseUrl, apiHeaders: headers });
}
