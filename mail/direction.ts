import { escapeAttribute } from './links.js';

/** Languages written right to left; a locale such as `ar-EG` or `fa` renders with dir="rtl". */
const RTL_LANGUAGES = new Set(['ar', 'fa', 'he', 'ur', 'ps', 'yi', 'dv', 'ckb', 'sd', 'ug']);

export type TextDirection = 'ltr' | 'rtl';

export function directionOf(locale: unknown): TextDirection {
  if (typeof locale !== 'string') return 'ltr';
  const language = locale.trim().toLowerCase().split(/[-_]/)[0] ?? '';
  return RTL_LANGUAGES.has(language) ? 'rtl' : 'ltr';
}

/** A BCP 47 language tag as contacts' locales spell it (`ar`, `fa-IR`, `zh-Hant-TW`). */
const LANGUAGE_TAG = /^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$/;

/**
 * Puts `dir` (and `lang`) on the <html> element when the layout did not set them itself.
 * `lang` is the contact's locale, a trait anyone who can identify a contact sets: it is written
 * only when it is a language tag (`ar_EG` is read as `ar-EG`), and escaped all the same.
 */
export function applyDirection(html: string, dir: TextDirection, lang: string): string {
  if (dir === 'ltr') return html;
  const open = /<html\b([^>]*)>/i.exec(html);
  if (!open) return `<div dir="rtl"${langAttribute(lang)}>${html}</div>`;
  const attrs = open[1] ?? '';
  if (/\sdir\s*=/i.test(attrs)) return html;
  return html.replace(open[0], `<html${attrs} dir="rtl">`);
}

function langAttribute(locale: string): string {
  const tag = locale.trim().replace(/_/g, '-');
  return LANGUAGE_TAG.test(tag) ? ` lang="${escapeAttribute(tag)}"` : '';
}
