// Messaging use cases shared by the API routers: events Drumbeat observes, unsubscribing.
export { recordSystemEvent } from './system-event.js';
export { exitSuppressed, unsubscribe, type UnsubscribeResult } from './unsubscribe.js';
export { sentEmailOf, sentEmailProperties, type SentEmail } from './sent-email.js';
