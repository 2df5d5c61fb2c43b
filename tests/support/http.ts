/** Small JSON-over-HTTP helpers for tests that drive the API like a user would. */
export async function postJson(
  url: string,
  body: unknown,
): Promise<{ status: number; body: unknown; contentType: string | null }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return {
    status: res.status,
    body: await res.json(),
    contentType: res.headers.get('content-type'),
  };
}

export async function getJson(url: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.json() };
}
