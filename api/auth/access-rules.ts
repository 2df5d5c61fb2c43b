import type { Scope } from './keys.js';

/**
 * Paths anyone may call without a key. Each entry is a path or a prefix ending in `/`.
 * Inbound webhooks verify their own signatures; `/metrics` may ask for METRICS_TOKEN instead.
 */
export const PUBLIC_PATHS: readonly string[] = [
  '/healthz',
  '/readyz',
  '/metrics',
  '/docs',
  '/v1/openapi.json',
  '/v1/schemas/',
  '/v1/hooks/',
  '/u/',
  '/t/',
];

export function isPublicPath(path: string): boolean {
  return PUBLIC_PATHS.some((p) => (p.endsWith('/') ? path.startsWith(p) : path === p));
}

/** Segment-style ingestion: what an `ingest` key may call. */
const INGEST_ROUTES: readonly string[] = [
  '/v1/identify',
  '/v1/track',
  '/v1/batch',
  '/v1/import', // Segment's alias of batch, answered by the same handler
  '/v1/page',
  '/v1/screen',
  '/v1/group',
  '/v1/alias',
];

/** Managing the workspace itself: keys, webhook sources. */
const ADMIN_PREFIXES: readonly string[] = ['/v1/workspaces', '/v1/api-keys', '/v1/webhook-sources'];

/** Workspace settings anyone with a `write` key may read but only `admin` keys may change. */
const ADMIN_TO_CHANGE_PREFIXES: readonly string[] = [
  '/v1/attributes',
  '/v1/attribute-policy',
  '/v1/messaging-policy',
];

/** The embedded SMTP sink is shared by the whole machine: only the default workspace sees it. */
export const DEFAULT_WORKSPACE_ONLY_PREFIXES: readonly string[] = ['/v1/mailbox'];

/** The scope a request needs. Anything not listed needs `write`, so new routes are protected. */
export function requiredScope(method: string, path: string): Scope {
  if (ADMIN_PREFIXES.some((p) => path === p || path.startsWith(`${p}/`))) return 'admin';
  if (
    method !== 'GET' &&
    ADMIN_TO_CHANGE_PREFIXES.some((p) => path === p || path.startsWith(`${p}/`))
  )
    return 'admin';
  // Removing a colleague (their tasks and contacts change hands) is for admins.
  if (method === 'DELETE' && path.startsWith('/v1/users/')) return 'admin';
  if (method === 'POST' && INGEST_ROUTES.includes(path)) return 'ingest';
  return 'write';
}
