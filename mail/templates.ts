import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import Handlebars from 'handlebars';
import juice from 'juice';
import { applyDirection, directionOf } from './direction.js';
import { registerHelpers } from './helpers.js';
import { htmlToText } from './html-to-text.js';
import { isRecord } from '../core/index.js';

/**
 * Email templates: `templates/<name>.hbs`, each a Handlebars HTML body under a small front
 * matter (`subject:`, optional `preheader:` and `layout:`), wrapped in `templates/layouts/*.hbs`,
 * with partials from `templates/partials/`. Templates stored through the API compile through
 * the same engine. Escaping is on; prototype access is off (Handlebars' default) and nothing
 * here reads files after start-up, so a template cannot reach beyond the data it is given.
 */
export interface RenderedEmail {
  readonly subject: string;
  readonly preheader: string;
  readonly html: string;
  readonly text: string;
}

/** A template's parts as an author writes them. */
export interface TemplateSource {
  readonly subject: string;
  readonly preheader: string | null;
  readonly layout: string | null;
  readonly html: string;
}

export interface CompiledTemplate {
  readonly subject: HandlebarsTemplateDelegate;
  readonly preheader: HandlebarsTemplateDelegate | null;
  readonly body: HandlebarsTemplateDelegate;
  readonly layout: string;
}

export interface TemplateStore {
  /** The template files' names. Templates stored through the API are each workspace's own. */
  names(): readonly string[];
  /** Whether a template file has this name (stored ones: `templateExistence`, engine/journeys.ts). */
  has(name: string): boolean;
  render(
    name: string,
    data: Readonly<Record<string, unknown>>,
    overrides?: { subject?: string | null },
  ): RenderedEmail;
  /** Compiles a template given as text (stored through the API); throws TemplateError. */
  compile(source: TemplateSource, name?: string): CompiledTemplate;
  renderCompiled(
    template: CompiledTemplate,
    data: Readonly<Record<string, unknown>>,
    overrides?: { subject?: string | null },
    name?: string,
  ): RenderedEmail;
  layouts(): readonly string[];
}

export class TemplateError extends Error {
  override readonly name = 'TemplateError';
  constructor(
    readonly code: 'TEMPLATE_NOT_FOUND' | 'TEMPLATE_INVALID' | 'TEMPLATE_RENDER_FAILED',
    message: string,
    /** The part of the template at fault, when one is (for the API's pointer). */
    readonly part: TemplatePart | null = null,
  ) {
    super(message);
  }
}

export type TemplatePart = 'subject' | 'preheader' | 'html' | 'layout';

const FRONT_MATTER = /^---\r?\n([\s\S]*?)\r?\n---\r?\n?/;
const STYLE_BLOCK = /<style[\s>]/i;

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
  const compile = (source: TemplateSource, name = 'template'): CompiledTemplate => {
    const problem = syntaxProblem(hbs, source);
    if (problem)
      throw new TemplateError(
        'TEMPLATE_INVALID',
        `Template "${name}": ${problem.message}`,
        problem.part,
      );
    const layout = source.layout ?? 'default';
    if (source.layout !== null && source.layout !== 'none' && !layouts.has(layout))
      throw new TemplateError(
        'TEMPLATE_INVALID',
        `Template "${name}" uses an unknown layout "${layout}".`,
        'layout',
      );
    return {
      subject: hbs.compile(source.subject, { noEscape: true }),
      preheader: source.preheader ? hbs.compile(source.preheader, { noEscape: true }) : null,
      body: hbs.compile(source.html),
      layout,
    };
  };
  const templates = new Map<string, CompiledTemplate>();
  for (const file of await hbsFiles(dir)) {
    const name = basename(file, '.hbs');
    templates.set(name, compile(parseTemplateFile(name, await readFile(file, 'utf8')), name));
  }
  // A step's own subject is compiled once, not on every send; the bound keeps a process that
  // sees many distinct subjects from growing without end.
  const subjects = new Map<string, HandlebarsTemplateDelegate>();
  const subjectOverride = (text: string): HandlebarsTemplateDelegate => {
    let compiled = subjects.get(text);
    if (!compiled) {
      if (subjects.size >= 1000) subjects.clear();
      compiled = hbs.compile(text, { noEscape: true });
      subjects.set(text, compiled);
    }
    return compiled;
  };

  const renderCompiled: TemplateStore['renderCompiled'] = (
    t,
    data,
    overrides,
    name = 'template',
  ) => {
    try {
      const subject = (
        overrides?.subject ? subjectOverride(overrides.subject)(data) : t.subject(data)
      ).trim();
      const preheader = (t.preheader?.(data) ?? '').trim();
      const content = t.body(data);
      const contact = data.contact;
      const locale =
        isRecord(contact) && typeof contact.locale === 'string' ? contact.locale : 'en';
      const dir = directionOf(locale);
      const layout = layouts.get(t.layout);
      const framed = (shownPreheader: string) =>
        layout
          ? layout({
              ...data,
              body: new hbs.SafeString(content),
              subject,
              preheader: shownPreheader,
              dir,
              lang: locale,
            })
          : content;
      let html = framed(preheader);
      // Inlining parses the whole document; only worth it when there is a <style> to inline.
      if (STYLE_BLOCK.test(html)) html = juice(html);
      html = applyDirection(html, dir, locale);
      // The text part is the message as a text-only client should show it: the layout's header
      // and footer (its unsubscribe link, the postal address) too, but not the preheader, which
      // the HTML hides.
      const text = htmlToText(framed(''));
      return { subject, preheader, html, text };
    } catch (error) {
      throw new TemplateError(
        'TEMPLATE_RENDER_FAILED',
        `Template "${name}" could not be rendered: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  };

  return {
    names: () => [...templates.keys()].sort(),
    has: (name) => templates.has(name),
    render(name, data, overrides) {
      const t = templates.get(name);
      if (!t)
        throw new TemplateError(
          'TEMPLATE_NOT_FOUND',
          `There is no email template called "${name}".`,
        );
      return renderCompiled(t, data, overrides, name);
    },
    compile,
    renderCompiled,
    layouts: () => [...layouts.keys()].sort(),
  };
}

/** Splits a `.hbs` file into its front matter (subject, preheader, layout) and body. */
export function parseTemplateFile(name: string, source: string): TemplateSource {
  const match = FRONT_MATTER.exec(source);
  const meta = new Map<string, string>();
  for (const line of (match?.[1] ?? '').split(/\r?\n/)) {
    const at = line.indexOf(':');
    if (at > 0) meta.set(line.slice(0, at).trim(), line.slice(at + 1).trim());
  }
  const subject = meta.get('subject');
  if (!subject)
    throw new TemplateError(
      'TEMPLATE_INVALID',
      `Template "${name}" has no "subject:" line in its front matter.`,
    );
  return {
    subject,
    preheader: meta.get('preheader') ?? null,
    layout: meta.get('layout') ?? null,
    html: source.slice(match?.[0].length ?? 0),
  };
}

/** Handlebars compiles lazily; parse each part now so a broken template is refused at once. */
function syntaxProblem(
  hbs: typeof Handlebars,
  source: TemplateSource,
): { part: TemplatePart; message: string } | null {
  const parts: [TemplatePart, string | null][] = [
    ['subject', source.subject],
    ['preheader', source.preheader],
    ['html', source.html],
  ];
  for (const [part, text] of parts) {
    if (text === null) continue;
    let ast: unknown;
    try {
      ast = hbs.parse(text);
    } catch (error) {
      const first = error instanceof Error ? error.message.split('\n')[0] : String(error);
      return { part, message: `the ${part} has a syntax error: ${first}` };
    }
    const unknown = unknownName(hbs, ast);
    if (unknown) return { part, message: `the ${part} ${unknown}` };
  }
  return null;
}

/**
 * A helper or partial the template calls that does not exist. Handlebars finds out only when
 * it renders, so a template saved with `{{formatdate date "long"}}` (a typo) or `{{> footr}}`
 * failed every send for good. Only what fails at render counts: a name given arguments
 * (`{{name arg}}`, `{{#name arg}}`, `(name arg)`), and a partial that is neither a file nor an
 * inline partial of the template (`{{#*inline "cta"}}`). A name alone, or with only `key=value`
 * options, renders as a value or as nothing, and is left alone.
 */
function unknownName(hbs: typeof Handlebars, ast: unknown): string | null {
  const nodes: Record<string, unknown>[] = [];
  const stack: unknown[] = [ast];
  while (stack.length > 0) {
    const node = stack.pop();
    if (typeof node !== 'object' || node === null) continue;
    if (Array.isArray(node)) {
      stack.push(...(node as unknown[]));
      continue;
    }
    const n = node as Record<string, unknown>;
    nodes.push(n);
    for (const [key, value] of Object.entries(n))
      if (key !== 'loc' && typeof value === 'object') stack.push(value);
  }
  const literal = (value: unknown): string | null => {
    const v = value as { original?: unknown; value?: unknown } | null;
    if (typeof v?.value === 'string') return v.value;
    return typeof v?.original === 'string' ? v.original : null;
  };
  // `{{#*inline "name"}}…{{/inline}}` defines a partial for the template itself.
  const inline = new Set(
    nodes
      .filter((n) => n.type === 'DecoratorBlock' && literal(n.path) === 'inline')
      .map((n) => literal((n.params as unknown[] | undefined)?.[0]))
      .filter((name): name is string => name !== null),
  );
  for (const n of nodes) {
    const type = n.type;
    if (type === 'MustacheStatement' || type === 'BlockStatement' || type === 'SubExpression') {
      const path = n.path as {
        type?: string;
        original?: unknown;
        parts?: unknown[];
        data?: boolean;
      };
      const params = Array.isArray(n.params) ? n.params.length : 0;
      const name = typeof path.original === 'string' ? path.original : '';
      if (
        params > 0 &&
        path.type === 'PathExpression' &&
        path.data !== true &&
        path.parts?.length === 1 &&
        !Object.hasOwn(hbs.helpers, name)
      )
        return `calls \`${name}\`, which is not a helper (helpers: ${Object.keys(hbs.helpers)
          .filter((h) => !h.endsWith('Missing'))
          .sort()
          .join(', ')}).`;
    }
    if (type === 'PartialStatement') {
      const name = n.name as { type?: string; original?: unknown; data?: boolean };
      const partial = typeof name.original === 'string' ? name.original : null;
      if (
        partial !== null &&
        (name.type === 'PathExpression' || name.type === 'StringLiteral') &&
        name.data !== true &&
        !partial.startsWith('@') &&
        !inline.has(partial) &&
        !Object.hasOwn(hbs.partials, partial)
      )
        return `includes the partial \`${partial}\`, which does not exist.`;
    }
  }
  return null;
}

async function hbsFiles(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries
      .filter((e) => e.isFile() && e.name.endsWith('.hbs'))
      .map((e) => join(dir, e.name))
      .sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}
