import { Router, type Express } from 'express';
import { openApiDocument } from './openapi.js';

/**
 * `/v1/openapi.json` and `/docs`, a readable page rendered here from the same document: no
 * scripts and no CDN, because a production install may have no internet access.
 */
export function docsRouter(app: Express, publicUrl: string): Router {
  const router = Router();
  let cached: Record<string, unknown> | null = null;
  // Built on first request, when every router has been registered.
  const document = () => (cached ??= openApiDocument(app, publicUrl));

  router.get('/v1/openapi.json', (_req, res) => {
    res.type('application/json').send(JSON.stringify(document(), null, 2));
  });

  router.get('/docs', (_req, res) => {
    res.set(
      'Content-Security-Policy',
      "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    );
    res.type('html').send(renderDocs(document()));
  });

  return router;
}

interface Operation {
  readonly method: string;
  readonly path: string;
  readonly summary: string;
  readonly description: string;
  readonly tag: string;
  readonly body: unknown;
}

function renderDocs(doc: Record<string, unknown>): string {
  const schemas = record(record(doc.components).schemas);
  const operations: Operation[] = [];
  for (const [path, methods] of Object.entries(record(doc.paths)))
    for (const [method, op] of Object.entries(record(methods))) {
      const o = record(op);
      const ref = record(
        record(record(record(o.requestBody).content)['application/json']).schema,
      ).$ref;
      const name = typeof ref === 'string' ? (ref.split('/').pop() ?? '') : '';
      operations.push({
        method: method.toUpperCase(),
        path,
        summary: text(o.summary),
        description: text(o.description),
        tag: Array.isArray(o.tags) ? text(o.tags[0]) : 'Other',
        body: name ? schemas[name] : undefined,
      });
    }
  const tags = [...new Set(operations.map((o) => o.tag))];
  const info = record(doc.info);
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Drumbeat API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
code,pre{font:13px ui-monospace,monospace}pre{background:#f6f6f6;padding:.75rem;overflow:auto;max-height:24rem}
.m{display:inline-block;min-width:4.5rem;font-weight:600}.GET{color:#0a7}.POST{color:#07c}.DELETE{color:#c33}.PATCH,.PUT{color:#a60}
details{margin:.4rem 0;border-bottom:1px solid #eee;padding:.3rem 0}summary{cursor:pointer}</style></head><body>
<h1>${esc(text(info.title))}</h1><p>${esc(text(info.description))}</p>
<p>Machine-readable: <a href="/v1/openapi.json">/v1/openapi.json</a> (OpenAPI 3.1).</p>
<nav>${tags.map((t) => `<a href="#${esc(slug(t))}">${esc(t)}</a>`).join(' · ')}</nav>
${tags
  .map(
    (t) =>
      `<h2 id="${esc(slug(t))}">${esc(t)}</h2>${operations
        .filter((o) => o.tag === t)
        .map(
          (
            o,
          ) => `<details><summary><span class="m ${esc(o.method)}">${esc(o.method)}</span> <code>${esc(o.path)}</code> — ${esc(o.summary)}</summary>
<p>${esc(o.description)}</p>${o.body ? `<p>Request body (JSON Schema):</p><pre>${esc(JSON.stringify(o.body, null, 2))}</pre>` : ''}</details>`,
        )
        .join('\n')}`,
  )
  .join('\n')}
</body></html>`;
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? Object.fromEntries(Object.entries(value))
    : {};
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, '-');
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
