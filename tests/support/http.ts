/**
 * JSON-over-HTTP helpers for tests that drive the API as a user would. `apiClient` is the one
 * to use: it knows the engine's base URL and sends its credentials, so tests do not change
 * when authentication does.
 */
export interface JsonResponse {
  readonly status: number;
  readonly body: unknown;
  readonly contentType: string | null;
  readonly headers: Headers;
}

export interface ApiClient {
  readonly baseUrl: string;
  get(path: string, headers?: Record<string, string>): Promise<JsonResponse>;
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<JsonResponse>;
  request(
    method: string,
    path: string,
    init?: { body?: string; headers?: Record<string, string> },
  ): Promise<Response>;
}

export function apiClient(engine: {
  readonly apiUrl: string | null;
  readonly apiHeaders?: Readonly<Record<string, string>>;
}): ApiClient {
  const baseUrl = engine.apiUrl ?? '';
  const auth = engine.apiHeaders ?? {};
  const request = (
    method: string,
    path: string,
    init: { body?: string; headers?: Record<string, string> } = {},
  ) =>
    fetch(`${baseUrl}${path}`, { method, body: init.body, headers: { ...auth, ...init.headers } });
  return {
    baseUrl,
    request,
    get: async (path, headers) => toJson(await request('GET', path, { headers })),
    post: async (path, body, headers) =>
      toJson(
        await request('POST', path, {
          body: JSON.stringify(body),
          headers: { 'content-type': 'application/json', ...headers },
        }),
      ),
  };
}

async function toJson(res: Response): Promise<JsonResponse> {
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text === '' ? null : JSON.parse(text);
  } catch {
    // not JSON: keep the text so the assertion shows it
  }
  return {
    status: res.status,
    body,
    contentType: res.headers.get('content-type'),
    headers: res.headers,
  };
}

/** For a process whose address is known but which is not an engine object (the restart test). */
export async function getJson(url: string): Promise<JsonResponse> {
  return toJson(await fetch(url));
}

export async function postJson(url: string, body: unknown): Promise<JsonResponse> {
  return toJson(
    await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }),
  );
}
