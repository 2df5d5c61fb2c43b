import type { PrismaClient } from '@prisma/client';
import {
  beforeBodyEnd,
  extractLinks,
  rewriteLinks,
  type CompiledTemplate,
  type LinkSigner,
  type RecipientRef,
  type RenderedEmail,
  type TemplateStore,
} from '../mail/index.js';
import type { ContactRecord } from '../engine/contact-record.js';
import { contactView } from '../engine/index.js';

/**
 * Renders an email for one contact: the template (stored through the API, else a file), the
 * data every template can use, the unsubscribe footer when a marketing template lacks the
 * link, and the tracking pixel and click redirects when the workspace turned them on.
 */
export interface ContentRequest {
  readonly template: string;
  /** The workspace's stored template of that name, read with the send's rows; else a file. */
  readonly storedTemplate: StoredTemplateRef | null;
  readonly subject: string | null;
  readonly contact: ContactRecord;
  readonly recipient: RecipientRef;
  readonly trigger: {
    readonly name: string | null;
    readonly properties: Readonly<Record<string, unknown>>;
  };
  readonly journey: { readonly key: string; readonly name: string } | null;
  readonly stepId: string | null;
  readonly marketing: boolean;
  readonly tracking: { readonly opens: boolean; readonly clicks: boolean };
}

export interface EmailContent extends RenderedEmail {
  /** http(s) links in the message as the contact sees them before any rewrite. */
  readonly links: readonly string[];
  readonly unsubscribeUrl: string;
}

/** A stored template's current version, as the send's read found it. */
export interface StoredTemplateRef {
  readonly id: string;
  readonly version: number;
}

export interface TemplateResolver {
  compiled(ref: StoredTemplateRef, name: string): Promise<CompiledTemplate | null>;
}

/**
 * Stored templates compiled once per version. The caller reads which version is current (the
 * send does it in the statement that reads its other rows), so a hit costs no round trip.
 */
export function storedTemplates(
  { prisma }: { readonly prisma: PrismaClient },
  templates: TemplateStore,
): TemplateResolver {
  const compiled = new Map<string, CompiledTemplate>();
  return {
    async compiled(ref, name) {
      const cacheKey = `${ref.id}:${ref.version}`;
      const hit = compiled.get(cacheKey);
      if (hit) return hit;
      const v = await prisma.emailTemplateVersion.findUnique({
        where: { templateId_version: { templateId: ref.id, version: ref.version } },
      });
      if (!v) return null;
      const c = templates.compile(v, name);
      compiled.set(cacheKey, c);
      return c;
    },
  };
}

export async function renderContent(
  deps: { templates: TemplateStore; resolver: TemplateResolver; links: LinkSigner },
  req: ContentRequest,
): Promise<EmailContent> {
  const { unsubscribeUrl, preferencesUrl } = deps.links.recipientUrls(req.recipient);
  const data = {
    contact: contactView(req.contact),
    event: req.trigger,
    journey: req.journey,
    step: req.stepId === null ? null : { id: req.stepId },
    unsubscribeUrl,
    preferencesUrl,
  };
  const stored =
    req.storedTemplate && (await deps.resolver.compiled(req.storedTemplate, req.template));
  const rendered = stored
    ? deps.templates.renderCompiled(stored, data, { subject: req.subject }, req.template)
    : deps.templates.render(req.template, data, { subject: req.subject });
  let { html, text } = rendered;
  // Each part is checked on its own: the HTML can hold the link where the text part made from
  // it does not keep it (a single-quoted href, a form's action).
  if (req.marketing && !html.includes(escapeForHtml(unsubscribeUrl))) {
    html = beforeBodyEnd(
      html,
      `<p style="font-size:12px;color:#6b7280;text-align:center;"><a href="${escapeForHtml(unsubscribeUrl)}">Unsubscribe</a> · <a href="${escapeForHtml(preferencesUrl)}">Email preferences</a></p>`,
    );
  }
  if (req.marketing && !text.includes(unsubscribeUrl)) {
    text = `${text}\n\nUnsubscribe: ${unsubscribeUrl}\nEmail preferences: ${preferencesUrl}`;
  }
  const links = extractLinks(html).filter((u) => u !== unsubscribeUrl && u !== preferencesUrl);
  const messageId = req.recipient.m;
  if (messageId !== null && req.tracking.clicks) {
    html = rewriteLinks(
      html,
      (url) => deps.links.clickUrl(messageId, url),
      (url) => url === unsubscribeUrl || url === preferencesUrl,
    );
  }
  if (messageId !== null && req.tracking.opens) {
    html = beforeBodyEnd(
      html,
      `<img src="${escapeForHtml(deps.links.openUrl(req.recipient))}" width="1" height="1" alt="" style="display:block;border:0;" />`,
    );
  }
  return { ...rendered, html, text, links, unsubscribeUrl };
}

function escapeForHtml(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;');
}
