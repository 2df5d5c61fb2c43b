import type { Field, FieldSource } from '../core/index.js';

/** `contact.address.city` → `{ source: 'contact', path: ['address', 'city'] }`. */
export function parseField(text: string): Field {
  const [head = '', ...path] = text.split('.');
  return { source: sourceOf(head), path };
}

function sourceOf(head: string): FieldSource {
  switch (head) {
    case 'contact':
    case 'trigger':
    case 'event':
    case 'score':
    case 'lifecycleStage':
    case 'tags':
    case 'lists':
      return head;
    default:
      // The schema's pattern admits nothing else; a contact attribute is the safe reading.
      return 'contact';
  }
}
