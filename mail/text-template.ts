import Handlebars from 'handlebars';
import { registerHelpers } from './helpers.js';

/**
 * Handlebars for plain strings in actions (task titles, webhook URLs and JSON bodies): same
 * helpers as emails, no HTML escaping (the result is not HTML), no partials, no prototype
 * access. Compiled sources are kept, since a journey renders the same few strings many times.
 */
const hbs = Handlebars.create();
registerHelpers(hbs);
const compiled = new Map<string, HandlebarsTemplateDelegate>();
const MAX_CACHED = 1000;

export function renderText(source: string, data: Readonly<Record<string, unknown>>): string {
  if (!source.includes('{{')) return source;
  let template = compiled.get(source);
  if (!template) {
    template = hbs.compile(source, { noEscape: true });
    if (compiled.size >= MAX_CACHED) compiled.clear();
    compiled.set(source, template);
  }
  return template(data);
}

/** Renders every string inside a JSON value (keys stay as written). */
export function renderJson(value: unknown, data: Readonly<Record<string, unknown>>): unknown {
  if (typeof value === 'string') return renderText(value, data);
  if (Array.isArray(value)) return value.map((v) => renderJson(v, data));
  if (typeof value === 'object' && value !== null)
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, renderJson(v, data)]));
  return value;
}
