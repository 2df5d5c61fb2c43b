export {
  loadTemplates,
  TemplateError,
  type RenderedEmail,
  type TemplateStore,
} from './templates.js';
export { createMailer, type Mailer, type OutgoingEmail } from './mailer.js';
export { htmlToText } from './html-to-text.js';
// Public surface of mail/.
export { startSmtpSink } from './smtp-sink.js';
export type { CapturedMessage, SmtpSink, SmtpSinkOptions } from './smtp-sink.js';
