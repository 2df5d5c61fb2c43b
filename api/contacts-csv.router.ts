import express, { Router, type Request } from 'express';
import type { EngineDeps } from '../engine/index.js';
import { routeInBackground } from '../engine/index.js';
import { parseCsv } from '../engine/contacts/csv.js';
import { exportContacts } from '../engine/contacts/export.js';
import { importContacts } from '../engine/contacts/import.js';
import { importJobView, startImportJob } from '../engine/contacts/import-jobs.js';
import { importsRouter } from './imports.router.js';
import { HttpProblem, invalidInput, PROBLEM_BASE } from './problem.js';
import { workspaceOf } from './workspace.js';

/**
 * CSV import and export of contacts. Mounted before the JSON-only check (like the unsubscribe
 * router), because the import body is `text/csv`; only this route parses text bodies. The import
 * answers when done, or with `Prefer: respond-async` (or `?async=true`) at once with 202 and a
 * job to poll at `/v1/imports/:id` (api/imports.router.ts).
 */
export function contactsCsvRouter(engine: EngineDeps): Router {
  const router = Router();
  const csv = express.text({ type: 'text/csv', limit: '20mb' });

  router.post('/v1/contacts/import', csv, async (req, res) => {
    if (!req.is('text/csv') || typeof req.body !== 'string')
      throw new HttpProblem(
        415,
        `${PROBLEM_BASE}unsupported-media-type`,
        'Unsupported media type',
        'Send the CSV file with Content-Type: text/csv.',
      );
    const map = mappingOf(req.query.map);
    const parsed = parseCsv(req.body);
    if (!parsed.ok)
      throw invalidInput('The CSV file could not be read.', [
        { pointer: '/body', code: 'bad-csv', message: `Line ${parsed.line}: ${parsed.reason}.` },
      ]);
    const [header, ...records] = parsed.records;
    if (!header || header.every((h) => h.trim() === ''))
      throw invalidInput('The CSV file has no header row.', [
        {
          pointer: '/body',
          code: 'required',
          message: 'The first line must name the columns (for example `email,firstName`).',
        },
      ]);
    if (wantsAsync(req)) {
      const job = await startImportJob(engine, workspaceOf(req), req.body, map, records.length);
      res
        .status(202)
        .location(`/v1/imports/${job.id}`)
        .setHeader('preference-applied', 'respond-async')
        .json(importJobView(job, true));
      return;
    }
    const report = await importContacts(engine, workspaceOf(req), header, records, map);
    void routeInBackground(engine, report.newEventIds);
    res.json({
      imported: report.imported,
      updated: report.updated,
      rejected: report.rejected,
      warnings: report.warnings,
    });
  });

  router.get('/v1/contacts/export.csv', async (req, res) => {
    const workspaceId = workspaceOf(req);
    res.type('text/csv; charset=utf-8');
    res.setHeader('content-disposition', 'attachment; filename="contacts.csv"');
    for await (const chunk of exportContacts(engine.prisma, workspaceId)) {
      if (!res.write(chunk)) await new Promise((resolve) => res.once('drain', resolve));
    }
    res.end();
  });

  router.use(importsRouter(engine));
  return router;
}

/** RFC 7240 `Prefer: respond-async` (any other preferences beside it are ignored), or `?async=true`. */
function wantsAsync(req: Request): boolean {
  if (req.query.async === 'true') return true;
  return (req.get('prefer') ?? '')
    .split(',')
    .some((p) => (p.split(';')[0] ?? '').trim().toLowerCase() === 'respond-async');
}

/** `?map=Mail:email,Customer no:userId` renames CSV headers before they are matched. */
function mappingOf(raw: unknown): Map<string, string> {
  const map = new Map<string, string>();
  if (raw === undefined) return map;
  const problem = invalidInput('The column mapping has problems.', [
    {
      pointer: '/map',
      code: 'bad-format',
      message: '`map` must look like `Column:target,Other column:target`.',
    },
  ]);
  if (typeof raw !== 'string') throw problem;
  for (const pair of raw.split(',')) {
    const at = pair.lastIndexOf(':');
    if (at <= 0 || at === pair.length - 1) throw problem;
    map.set(pair.slice(0, at).trim(), pair.slice(at + 1).trim());
  }
  return map;
}
