import type Handlebars from 'handlebars';
import { isRecord } from '../core/index.js';

/**
 * Template helpers. Dates and numbers are formatted in the contact's locale and time zone
 * (`contact.locale`, `contact.timezone` in the data), falling back to `en` and UTC when those
 * are missing or unknown, so a bad attribute never fails a send.
 *
 *   {{default contact.firstName "there"}}
 *   {{formatDate event.properties.startsAt style="long" time=true}}
 *   {{formatNumber order.total style="currency" currency="EUR"}}
 *   {{#if (eq contact.plan "pro")}} ... {{/if}}
 */
export function registerHelpers(hbs: typeof Handlebars): void {
  hbs.registerHelper('default', (value: unknown, fallback: unknown) =>
    value === undefined || value === null || value === '' ? fallback : value,
  );
  hbs.registerHelper('formatDate', function (value: unknown, options: Handlebars.HelperOptions) {
    const date = toDate(value);
    if (!date) return '';
    const { locale, timeZone } = localeOf(options);
    const style = dateStyle(options.hash.style);
    const withTime = options.hash.time === true;
    return new Intl.DateTimeFormat(locale, {
      dateStyle: style,
      ...(withTime ? { timeStyle: 'short' as const } : {}),
      timeZone,
    }).format(date);
  });
  hbs.registerHelper('formatNumber', function (value: unknown, options: Handlebars.HelperOptions) {
    const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : NaN;
    if (!Number.isFinite(n)) return '';
    const { locale } = localeOf(options);
    const currency = typeof options.hash.currency === 'string' ? options.hash.currency : null;
    const decimals = typeof options.hash.decimals === 'number' ? options.hash.decimals : undefined;
    try {
      return new Intl.NumberFormat(locale, {
        ...(currency ? { style: 'currency' as const, currency } : {}),
        ...(options.hash.style === 'percent' ? { style: 'percent' as const } : {}),
        ...(decimals === undefined
          ? {}
          : { minimumFractionDigits: decimals, maximumFractionDigits: decimals }),
      }).format(n);
    } catch {
      return new Intl.NumberFormat(locale).format(n);
    }
  });
  const compare = (name: string, test: (a: unknown, b: unknown) => boolean) =>
    hbs.registerHelper(name, (a: unknown, b: unknown) => test(a, b));
  compare('eq', (a, b) => a === b);
  compare('ne', (a, b) => a !== b);
  compare('gt', (a, b) => Number(a) > Number(b));
  compare('gte', (a, b) => Number(a) >= Number(b));
  compare('lt', (a, b) => Number(a) < Number(b));
  compare('lte', (a, b) => Number(a) <= Number(b));
  // Variadic: the last argument is Handlebars' options object.
  hbs.registerHelper('and', (...args: unknown[]) => args.slice(0, -1).every(Boolean));
  hbs.registerHelper('or', (...args: unknown[]) => args.slice(0, -1).some(Boolean));
  hbs.registerHelper('not', (value: unknown) => !value);
}

function toDate(value: unknown): Date | null {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value;
  if (typeof value !== 'string' && typeof value !== 'number') return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

function dateStyle(value: unknown): 'full' | 'long' | 'medium' | 'short' {
  return value === 'full' || value === 'long' || value === 'short' ? value : 'medium';
}

/** The contact's locale and zone from the template data, validated against Intl. */
function localeOf(options: Handlebars.HelperOptions): { locale: string; timeZone: string } {
  const data: unknown = options.data;
  const root = isRecord(data) ? data.root : undefined;
  const contact = isRecord(root) && isRecord(root.contact) ? root.contact : {};
  return { locale: validLocale(contact.locale), timeZone: validZone(contact.timezone) };
}

function validLocale(value: unknown): string {
  if (typeof value !== 'string' || value === '') return 'en';
  try {
    return Intl.getCanonicalLocales(value.replace('_', '-'))[0] ?? 'en';
  } catch {
    return 'en';
  }
}

function validZone(value: unknown): string {
  if (typeof value !== 'string' || value === '') return 'UTC';
  try {
    new Intl.DateTimeFormat('en', { timeZone: value });
    return value;
  } catch {
    return 'UTC';
  }
}
