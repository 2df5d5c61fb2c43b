import type { Request } from 'express';
import type { Scope } from './keys.js';

/** Who is calling: the workspace and key an authenticated request acts for. */
export interface AuthContext {
  readonly workspaceId: string;
  readonly keyId: string;
  readonly scope: Scope;
}

// A WeakMap rather than a property on `req`: no casts, and nothing outlives the request.
const contexts = new WeakMap<Request, AuthContext>();

export function setAuth(req: Request, context: AuthContext): void {
  contexts.set(req, context);
}

export function authOf(req: Request): AuthContext | null {
  return contexts.get(req) ?? null;
}
