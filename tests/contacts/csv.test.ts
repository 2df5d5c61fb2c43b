import { describe, expect, it } from 'vitest';
import { csvRecord, parseCsv } from '../../engine/contacts/csv.js';

describe('RFC 4180 CSV', () => {
  it('reads quotes, escaped quotes, commas and line breaks in fields, CRLF and LF', () => {
    const parsed = parseCsv('\uFEFFemail,note\r\n"a@x.io","say ""hi"", then\r\nbye"\nb@x.io,\r\n');
    expect(parsed).toEqual({
      ok: true,
      records: [
        ['email', 'note'],
        ['a@x.io', 'say "hi", then\r\nbye'],
        ['b@x.io', ''],
      ],
    });
    expect(parseCsv('a,b')).toEqual({ ok: true, records: [['a', 'b']] });
  });

  it('reports an unclosed quote and text after a closing quote', () => {
    expect(parseCsv('a\n"open,b\n')).toMatchObject({ ok: false, line: 3 });
    expect(parseCsv('"a"b,c')).toMatchObject({ ok: false, line: 1 });
  });

  it('writes what it reads', () => {
    const values = ['plain', 'with,comma', 'with "quote"', 'two\r\nlines', ''];
    expect(csvRecord(values)).toBe('plain,"with,comma","with ""quote""","two\r\nlines",\r\n');
    expect(parseCsv(csvRecord(values))).toEqual({ ok: true, records: [values] });
  });
});
