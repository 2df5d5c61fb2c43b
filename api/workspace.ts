import type { Request } from 'express';
import { DEFAULT_WORKSPACE_ID } from '../store/index.js';

/**
 * The workspace a request acts in. Until API keys exist every request belongs to the default
 * workspace; routes already ask through this one function, so keys only change it here.
 */
export function workspaceOf(_req: Request): string {
  return DEFAULT_WORKSPACE_ID;
}
