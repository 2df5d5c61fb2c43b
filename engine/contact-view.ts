import { isRecord } from '../core/index.js';
import type { ContactRecord } from './contact-record.js';

/**
 * A contact as templates and conditions see it: its custom attributes plus the built-in
 * fields, with `firstName`/`lastName` also read from the snake_case and `name` traits that
 * Segment clients send.
 */
export function contactView(contact: ContactRecord): Record<string, unknown> {
  const attributes = isRecord(contact.attributes) ? contact.attributes : {};
  const [first, ...rest] = typeof attributes.name === 'string' ? attributes.name.split(' ') : [];
  return {
    ...attributes,
    id: contact.id,
    userId: contact.userId,
    email: contact.email,
    firstName: attributes.firstName ?? attributes.first_name ?? first,
    lastName:
      attributes.lastName ?? attributes.last_name ?? (rest.length > 0 ? rest.join(' ') : undefined),
    timezone: contact.timezone,
    locale: contact.locale,
  };
}

export { isRecord };
