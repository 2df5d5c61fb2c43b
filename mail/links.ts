/**
 * Links in a rendered email: found for click tracking (clicks may only redirect to URLs that
 * were in the message) and rewritten through the tracking redirect.
 */
import { decodeEntities, HREF_ATTRIBUTE, HREF_VALUE, OTHER_ATTRIBUTES } from './html-to-text.js';

/** An `<a>` start up to its `href=`, then the address in double quotes, single quotes or none. */
const HREF = new RegExp(`(<a\\b${OTHER_ATTRIBUTES}?${HREF_ATTRIBUTE})${HREF_VALUE}`, 'gi');

/** Every http(s) link target in the HTML, decoded, without duplicates, in order. */
export function extractLinks(html: string): string[] {
  const found = new Set<string>();
  for (const match of html.matchAll(HREF)) {
    const url = decodeAttribute(match[2] ?? match[3] ?? match[4] ?? '');
    if (/^https?:\/\//i.test(url)) found.add(url);
  }
  return [...found];
}

/** Replaces each http(s) link with `wrap(url)`, leaving `keep` (unsubscribe, preferences) as is. */
export function rewriteLinks(
  html: string,
  wrap: (url: string) => string,
  keep: (url: string) => boolean,
): string {
  return html.replace(
    HREF,
    (whole, open: string, double?: string, single?: string, bare?: string) => {
      const url = decodeAttribute(double ?? single ?? bare ?? '');
      if (!/^https?:\/\//i.test(url) || keep(url)) return whole;
      return `${open}"${escapeAttribute(wrap(url))}"`;
    },
  );
}

/**
 * An attribute's value as the browser reads it: character references decoded (`&#38;` too) and
 * the surrounding whitespace a browser strips from a URL gone (a template value with a
 * trailing newline still links where it points).
 */
export function decodeAttribute(value: string): string {
  return decodeEntities(value).trim();
}

export function escapeAttribute(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}

/** Adds HTML just before </body>, or at the end when there is no body element. */
export function beforeBodyEnd(html: string, addition: string): string {
  const at = html.search(/<\/body>/i);
  return at < 0 ? `${html}${addition}` : `${html.slice(0, at)}${addition}${html.slice(at)}`;
}
