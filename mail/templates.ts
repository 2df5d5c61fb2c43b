import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import Handlebars from 'handlebars';
import { htmlToText } from './html-to-text.js';

/**
 * Email templates: `templates/<name>.hbs`, each a Handlebars HTML body under a small front
 * matter (`subject:`, optional `preheader:` and `layout:`), wrapped in `templates/layouts/*.hbs`.
 * Escaping is on; prototype access is off (Handlebars' default), so a template cannot reach
 * beyond the data it is given.
 */
export interface RenderedEmail {
  readonly subject: string;
  readonly html: string;
  readonly text: string;
}

export interface TemplateStore {
  names(): readonly string[];
  has(name: string): boolean;
  render(name: string, data: Readonly<Record<string, unknown>>, overrides?: { subject?: string | null }): RenderedEmail;
}

export class TemplateError extends Error {
  override readonly name = 'TemplateError';
  constructor(
    readonly code: 'TEMPLATE_NOT_FOUND' | 'TEMPLATE_INVALID' | 'TEMPLATE_RENDER_FAILED',
    message: string,
  ) {
    super(message);
  }
}

interface Compiled {
  readonly subject: HandlebarsTemplateDelegate;
  readonly preheader: HandlebarsTemplateDelegate | null;
  readonly body: HandlebarsTemplateDelegate;
  readonly layout: string;
}

const FRONT_MATTER = /^---\r?\n([\s\S]*?)\r?\n---\r?\n?/;

export async function loadTemplates(dir: string): Promise<TemplateStore> {
  const hbs = Handlebars.create();
  registerHelpers(hbs);
  const layouts = new Map<string, HandlebarsTemplateDelegate>();
  for (const file of await hbsFiles(join(dir, 'layouts'))) {
    layouts.set(basename(file, '.hbs'), hbs.compile(await readFile(file, 'utf8')));
  }
  for (const file of await hbsFiles(join(dir, 'partials'))) {
    hbs.registerPartial(basename(file, '.hbs'), await readFile(file, 'utf8'));
  }
  const templates = new Map<string, Compiled>();
  for (const file of await hbsFiles(dir)) {
    const name = basename(file, '.hbs');
    templates.set(name, parseTemplate(hbs, name, await readFile(file, 'utf8')));
  }

  return {
    names: () => [...templates.keys()].sort(),
    has: (name) => templates.has(name),
    render(name, data, overrides) {
      const t = templates.get(name);
      if (!t) throw new TemplateError('TEMPLATE_NOT_FOUND', `There is no email template called "${name}".`);
      try {
        const subject = overrides?.subject ? hbs.compile(overrides.subject, { noEscape: true })(data) : t.subject(data);
        const preheader = t.preheader?.(data) ?? '';
        const content = t.body(data);
        const layout = layouts.get(t.layout);
        const html = layout ? layout({ ...data, body: new hbs.SafeString(content), subject, preheader }) : content;
        return { subject: subject.trim(), html, text: htmlToText(content) };
      } catch (error) {
        throw new TemplateError('TEMPLATE_RENDER_FAILED', `Template "${name}" could not be rendered: ${(error as Error).message}`);
      }
    },
  };
}

function parseTemplate(hbs: typeof Handlebars, name: string, source: string): Compiled {
  const match = FRONT_MATTER.exec(source);
  const meta = new Map<string, string>();
  for (const line of (match?.[1] ?? '').split(/\r?\n/)) {
    const at = line.indexOf(':');
    if (at > 0) meta.set(line.slice(0, at).trim(), line.slice(at + 1).trim());
  }
  const subject = meta.get('subject');
  if (!subject) throw new TemplateError('TEMPLATE_INVALID', `Template "${name}" has no "subject:" line in its front matter.`);
  const preheader = meta.get('preheader');
  return {
    subject: hbs.compile(subject, { noEscape: true, strict: false }),
    preheader: preheader ? hbs.compile(preheader) : null,
    body: hbs.compile(source.slice(match?.[0].length ?? 0)),
    layout: meta.get('layout') ?? 'default',
  };
}

async function hbsFiles(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries.filter((e) => e.isFile() && e.name.endsWith('.hbs')).map((e) => join(dir, e.name)).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

function registerHelpers(hbs: typeof Handlebars): void {
  // `{{default contact.firstName "there"}}`: a fallback for missing or empty values.
  hbs.registerHelper('default', (value: unknown, fallback: unknown) =>
    value === undefined || value === null || value === '' ? fallback : value,
  );
}
