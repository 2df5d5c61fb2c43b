/** Languages written right to left; a locale such as `ar-EG` or `fa` renders with dir="rtl". */
const RTL_LANGUAGES = new Set(['ar', 'fa', 'he', 'ur', 'ps', 'yi', 'dv', 'ckb', 'sd', 'ug']);

export type TextDirection = 'ltr' | 'rtl';

export function directionOf(locale: unknown): TextDirection {
  if (typeof locale !== 'string') return 'ltr';
  const language = locale.trim().toLowerCase().split(/[-_]/)[0] ?? '';
  return RTL_LANGUAGES.has(language) ? 'rtl' : 'ltr';
}

/** Puts `dir` (and `lang`) on the <html> element when the layout did not set them itself. */
export function applyDirection(html: string, dir: TextDirection, lang: string): string {
  if (dir === 'ltr') return html;
  const open = /<html\b([^>]*)>/i.exec(html);
  if (!open) return `<div dir="rtl" lang="${lang}">${html}</div>`;
  const attrs = open[1] ?? '';
  if (/\sdir\s*=/i.test(attrs)) return html;
  return html.replace(open[0], `<html${attrs} dir="rtl">`);
}
