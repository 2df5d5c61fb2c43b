import { linkSigner, type LinkSigner, type TemplateStore } from '../mail/index.js';
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
      resolver: storedTemplates(deps.prisma, deps.templates),
      links: linkSigner(deps.config.publicUrl, deps.config.secretKey),
    };
    made.set(deps, parts);
  }
  return parts;
}
