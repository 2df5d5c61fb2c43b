import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { extractLinks, rewriteLinks } from '../../mail/index.js';
import { htmlToText } from '../../mail/html-to-text.js';

const wrap = (url: string) => `https://t.example/c?u=${encodeURIComponent(url)}`;
const keepNone = () => false;

/** Links in rendered HTML, as click tracking and the text part read them. */
describe('links in an email', () => {
  it('finds and tracks links in double quotes, single quotes and none alike', () => {
    const html =
      '<p><a href="https://a.example/1">one</a> <a class=x href=\'https://a.example/2\'>two</a> ' +
      '<a href=https://a.example/3>three</a> <a href="mailto:x@example.com">mail</a></p>';
    expect(extractLinks(html)).toEqual([
      'https://a.example/1',
      'https://a.example/2',
      'https://a.example/3',
    ]);
    const tracked = rewriteLinks(html, wrap, keepNone);
    for (const n of [1, 2, 3])
      expect(tracked).toContain(`href="${wrap(`https://a.example/${n}`).replace(/&/g, '&amp;')}"`);
    expect(tracked).toContain('href="mailto:x@example.com"');
    expect(tracked).not.toContain("'https://a.example/2'");
  });

  it('reads addresses as a browser does: every character reference, no surrounding whitespace', () => {
    const html =
      '<a href="https://a.example/?a=1&#38;b=2">x</a> <a href="https://a.example/?c=3&amp;d=4">y</a>' +
      '<a href=" https://a.example/offer \n">z</a> <a href="https://a.example/&#99999999;">w</a>';
    expect(extractLinks(html)).toEqual([
      'https://a.example/?a=1&b=2',
      'https://a.example/?c=3&d=4',
      'https://a.example/offer',
      'https://a.example/&#99999999;',
    ]);
  });

  it('does not take `href=` inside another attribute’s value for the link', () => {
    const html = '<a title="see href=below" href="https://shop.example/x">Shop</a>';
    expect(extractLinks(html)).toEqual(['https://shop.example/x']);
    expect(rewriteLinks(html, wrap, keepNone)).toContain('title="see href=below"');
    expect(htmlToText(html)).toBe('Shop (https://shop.example/x)');
  });

  it('keeps the address of a single-quoted link in the text part', () => {
    expect(htmlToText("<p>Join <a href='https://a.example/webinar'>here</a>.</p>")).toBe(
      'Join here (https://a.example/webinar).',
    );
  });

  it('tracks the links of the shipped templates that quote them with single quotes', async () => {
    const source = await readFile(
      new URL('../../templates/we-miss-you.hbs', import.meta.url),
      'utf8',
    );
    expect(source).toContain("href='https://app.drumbeat.dev'");
    expect(extractLinks(source)).toContain('https://app.drumbeat.dev');
  });
});
