import express, { Router, type Request } from 'express';
import type { EngineDeps } from '../engine/index.js';
import { isRecord, routeInBackground } from '../engine/index.js';
import { COLUMN_MAPPING_FORMAT, parseColumnMapping } from '../engine/contacts/column-mapping.js';
import { parseCsv } from '../engine/contacts/csv.js';
import { exportContacts } from '../engine/contacts/export.js';
import { importContacts } from '../engine/contacts/import.js';
import { importJobView, startImportJob } from '../engine/contacts/import-jobs.js';
import { idempotency } from './idempotency.js';
import { importsRouter } from './imports.router.js';
import { HttpProblem, invalidInput, PROBLEM_BASE } from './problem.js';
import { flagParam } from './query-params.js';
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

  // The app's Idempotency-Key check runs after its JSON parser, which this route comes before.
  const onceOnly = idempotency(engine.prisma, { replayHeaders: jobHeaders });

  router.post('/v1/contacts/import', csv, onceOnly, async (req, res) => {
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
      res.status(202).set(jobHeaders(202, job)).json(importJobView(job, true));
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

/** Where to poll a job the import started, also when a repeat with its Idempotency-Key replays it. */
function jobHeaders(status: number, body: unknown): Record<string, string> {
  if (status !== 202 || !isRecord(body) || typeof body.id !== 'string') return {};
  return { location: `/v1/imports/${body.id}`, 'preference-applied': 'respond-async' };
}

/** RFC 7240 `Prefer: respond-async` (any other preferences beside it are ignored), or `?async=true`. */
function wantsAsync(req: Request): boolean {
  if (flagParam(req.query, 'async')) return true;
  return (req.get('prefer') ?? '')
    .split(',')
    .some((p) => (p.split(';')[0] ?? '').trim().toLowerCase() === 'respond-async');
}

/** `?map=Mail:email,Customer no:userId` renames CSV headers before they are matched. */
function mappingOf(raw: unknown): Map<string, string> {
  if (raw === undefined) return new Map();
  const map = typeof raw === 'string' ? parseColumnMapping(raw) : null;
  if (map) return map;
  throw invalidInput('The column mapping has problems.', [
    {
      pointer: '/map',
      code: 'bad-format',
      message: `\`map\` must look like \`${COLUMN_MAPPING_FORMAT}\`.`,
    },
  ]);
}
