import {
  linkSigner,
  readMessagingPolicy,
  type LinkSigner,
  type MessagingPolicyView,
  type TemplateStore,
} from '../mail/index.js';
import type { ActivityDeps } from './deps.js';
import { storedTemplates, type TemplateResolver } from './email-content.js';

/** The signer and the stored-template cache, made once per set of activity dependencies. */
export interface MessagingParts {
  readonly templates: TemplateStore;
  readonly resolver: TemplateResolver;
  readonly links: LinkSigner;
}

const made = new WeakMap<ActivityDeps, MessagingParts>();

export function messagingOf(deps: ActivityDeps): MessagingParts {
  let parts = made.get(deps);
  if (!parts) {
    parts = {
      templates: deps.templates,
      resolver: storedTemplates(deps, deps.templates),
      links: linkSigner(deps.config.publicUrl, deps.config.secretKey),
    };
    made.set(deps, parts);
  }
  return parts;
}

/** Policies change rarely; a send may use one up to this old (suppression is never cached). */
const POLICY_TTL_MS = 2000;
const policies = new WeakMap<
  ActivityDeps,
  Map<string, { at: number; policy: MessagingPolicyView }>
>();

export async function policyOf(
  deps: ActivityDeps,
  workspaceId: string,
): Promise<MessagingPolicyView> {
  let cache = policies.get(deps);
  if (!cache) {
    cache = new Map<string, { at: number; policy: MessagingPolicyView }>();
    policies.set(deps, cache);
  }
  const hit = cache.get(workspaceId);
  if (hit && Date.now() - hit.at < POLICY_TTL_MS) return hit.policy;
  const policy = await readMessagingPolicy(deps.sql, workspaceId);
  cache.set(workspaceId, { at: Date.now(), policy });
  return policy;
}
