/** A tag's other attributes, their quoted values stepped over whole (`title="see href=x"`). */
export const OTHER_ATTRIBUTES = `(?:[^>"']|"[^"]*"|'[^']*')*`;
export const HREF_ATTRIBUTE = `\\bhref\\s*=\\s*`;
/** An attribute's value in double quotes, single quotes or none: three groups, one of them set. */
export const HREF_VALUE = `(?:"([^"]*)"|'([^']*)'|([^\\s"'>]+))`;

/** A link and its label. */
const LINK = new RegExp(
  `<a\\s${OTHER_ATTRIBUTES}?${HREF_ATTRIBUTE}${HREF_VALUE}${OTHER_ATTRIBUTES}>([\\s\\S]*?)<\\/a>`,
  'gi',
);

/**
 * The plain-text part of an email, made from its HTML: block elements become line breaks,
 * links keep their address, entities are decoded. Good enough for the text/plain alternative
 * that spam filters and text-only clients expect.
 */
export function htmlToText(html: string): string {
  return decodeEntities(
    html
      .replace(/<(script|style|head)[\s\S]*?<\/\1>/gi, '')
      .replace(LINK, (_, double?: string, single?: string, bare?: string, label?: string) => {
        const href = double ?? single ?? bare ?? '';
        const text = label ?? '';
        return text.trim() === href ? href : `${text} (${href})`;
      })
      .replace(/<br\s*\/?>/gi, '\n')
      .replace(/<li[^>]*>/gi, '\n- ')
      .replace(/<\/(p|div|h[1-6]|tr|table|ul|ol)>/gi, '\n\n')
      .replace(/<[^>]+>/g, ''),
  )
    .replace(/[ \t]+/g, ' ')
    .replace(/ *\n */g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

const NAMED_ENTITIES: Readonly<Record<string, string>> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: ' ',
  equals: '=',
};

/**
 * HTML character references decoded: the common named ones and every numeric one (`&#38;`,
 * `&#x26;`); a number that names no character is left as written.
 */
export function decodeEntities(text: string): string {
  return text.replace(/&(#[0-9]+|#x[0-9a-f]+|[a-z]+);/gi, (whole, name: string) => {
    if (name.startsWith('#')) {
      const hex = name[1] === 'x' || name[1] === 'X';
      const code = hex ? parseInt(name.slice(2), 16) : Number(name.slice(1));
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return NAMED_ENTITIES[name.toLowerCase()] ?? whole;
  });
}
