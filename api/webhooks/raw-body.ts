import type { IncomingMessage } from 'node:http';

// Signatures are computed over the bytes that were sent, not over re-serialised JSON, so the
// JSON parser hands the raw body of webhook requests over here.
const rawBodies = new WeakMap<object, Buffer>();

export function keepRawBody(req: IncomingMessage, _res: unknown, buf: Buffer): void {
  if (req.url?.startsWith('/v1/hooks/')) rawBodies.set(req, buf);
}

export function rawBodyOf(req: object): Buffer | null {
  return rawBodies.get(req) ?? null;
}
