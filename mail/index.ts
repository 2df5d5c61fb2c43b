export {
  loadTemplates,
  parseTemplateFile,
  TemplateError,
  type CompiledTemplate,
  type RenderedEmail,
  type TemplateSource,
  type TemplateStore,
} from './templates.js';
export {
  createMailer,
  isPermanentSmtpError,
  messageIdOf,
  type Mailer,
  type MailerOptions,
  type OutgoingEmail,
} from './mailer.js';
export { htmlToText } from './html-to-text.js';
export { directionOf, type TextDirection } from './direction.js';
export { signToken, verifyToken, type TokenPurpose } from './tokens.js';
export { beforeBodyEnd, extractLinks, rewriteLinks } from './links.js';
export * from './policy/index.js';
// Public surface of mail/.
export { startSmtpSink } from './smtp-sink.js';
export type { CapturedMessage, SmtpSink, SmtpSinkOptions } from './smtp-sink.js';
export { linkSigner, type ClickRef, type LinkSigner, type RecipientRef } from './message-links.js';
export {
  ADDRESS_EVENTS,
  emailKeyOf,
  suppress,
  suppressionReasonOf,
  type SuppressionReason,
} from './suppression.js';
export {
  loadMessagingPolicy,
  readMessagingPolicy,
  type MessagingPolicyView,
} from './messaging-policy.js';
export { renderJson, renderText } from './text-template.js';
export { signWebhook, webhookSigningSecret } from './webhook-signature.js';
