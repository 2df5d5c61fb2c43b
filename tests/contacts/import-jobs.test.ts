import type { PrismaClient } from '@prisma/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IMPORT_CHUNK } from '../../engine/contacts/import.js';
import { resumeImportJobs } from '../../engine/index.js';
import { isRecord } from '../../engine/index.js';
import { newId } from '../../store/index.js';
import { createWorkspace } from '../api/workspaces.js';
import { databaseVariants, eventually, startTestEngine, uniqueSuffix } from '../support/engine.js';
import { refusingInserts } from '../support/faults.js';
import { apiClient, type ApiClient } from '../support/http.js';

interface JobBody {
  id: string;
  status: string;
  totalRows: number;
  doneRows: number;
  imported: number;
  updated: number;
  rejectedCount: number;
  rejected?: { row: number; reason: string }[];
  warnings?: unknown[];
  error: string | null;
}

/**
 * A generated file of `count` rows: every 37th has a broken email, every 101st neither email
 * nor user id; the rest are valid. Returns the CSV and what the import should make of it.
 */
function generatedFile(s: string, count: number) {
  const lines = ['E-Mail,first name,plan'];
  const rejected: { row: number; reason: string }[] = [];
  const valid: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const row = i + 2; // the header is row 1
    if (i % 101 === 50) {
      lines.push(`,Nobody ${i},free`);
      rejected.push({ row, reason: 'neither' });
    } else if (i % 37 === 36) {
      lines.push(`broken-${i}-${s},Broken ${i},free`);
      rejected.push({ row, reason: 'not an email' });
    } else {
      const email = `bulk${i}.${s}@example.com`;
      lines.push(`${email},Person ${i},${i % 2 === 0 ? 'pro' : 'free'}`);
      valid.push(email);
    }
  }
  return { csv: lines.join('\n'), rejected, valid };
}

async function startImport(api: ApiClient, csv: string, how: 'prefer' | 'query') {
  const res = await api.request(
    'POST',
    `/v1/contacts/import?map=E-Mail:email${how === 'query' ? '&async=true' : ''}`,
    {
      body: csv,
      headers: {
        'content-type': 'text/csv',
        ...(how === 'prefer' ? { prefer: 'respond-async, wait=0' } : {}),
      },
    },
  );
  return { res, job: (await res.json()) as JobBody };
}

/** Polls the job until it is finished, keeping every `doneRows` seen on the way. */
async function pollUntilFinished(api: ApiClient, id: string) {
  const seen: number[] = [];
  const job = await eventually(
    async () => {
      const res = await api.get(`/v1/imports/${id}`);
      expect(res.status).toBe(200);
      const body = res.body as JobBody;
      seen.push(body.doneRows);
      return body.status === 'done' || body.status === 'failed' ? body : null;
    },
    180_000,
    `import ${id} to finish`,
  );
  return { job, seen };
}

/**
 * A contact identified before the import, and the file with her row twice: early (written
 * another way: spaces, capitals) and last.
 */
async function herAndFile(api: ApiClient, s: string, count: number) {
  const her = { userId: `ada-${s}`, email: `ada.${s}@example.com`, name: `Ada Secret ${s}` };
  await api.post('/v1/identify', {
    userId: her.userId,
    traits: { email: her.email, company: `Co ${s}` },
  });
  const file = generatedFile(s, count);
  const lines = file.csv.split('\n');
  lines.splice(2, 0, ` ${her.email.toUpperCase()} ,${her.name},pro`);
  lines.push(`${her.email},${her.name},free`);
  return { her, file, csv: lines.join('\n') };
}

/** Import jobs (read from the table itself) that still mention her address or her name. */
async function tracesOf(prisma: PrismaClient, her: { email: string; name: string }) {
  const rows = await prisma.$queryRawUnsafe<{ job: string }[]>(
    `SELECT row_to_json(j)::text AS job FROM import_jobs j`,
  );
  const needles = [her.email.toLowerCase(), her.name.toLowerCase()];
  return rows.map((r) => r.job.toLowerCase()).filter((job) => needles.some((n) => job.includes(n)));
}

/**
 * Waits for the job to end, reading its row (the API is not asked: an embedded database keeps
 * the process busy while a job runs), and checks she was not brought back and nothing else was
 * lost. Returns the job's counts.
 */
async function expectGoneAfter(
  prisma: PrismaClient,
  id: string,
  her: { email: string; name: string },
  file: ReturnType<typeof generatedFile>,
) {
  const job = await eventually(
    async () => {
      const row = await prisma.importJob.findUniqueOrThrow({ where: { id } });
      return row.status === 'done' || row.status === 'failed' ? row : null;
    },
    180_000,
    `import ${id} to finish`,
  );
  expect(job).toMatchObject({ status: 'done', error: null, csv: null });
  expect(job.doneRows).toBe(job.totalRows);
  // Her rows are not rejected; the others are, one row further down than in the file.
  const rejected = Array.isArray(job.rejected) ? job.rejected : [];
  expect(rejected.map((r) => (isRecord(r) ? r.row : r))).toEqual(
    file.rejected.map((r) => r.row + 1),
  );
  expect(await tracesOf(prisma, her)).toEqual([]);
  expect(await prisma.contact.count({ where: { emailKey: her.email } })).toBe(0);
  expect(
    await prisma.contact.count({
      where: { attributes: { path: ['firstName'], equals: her.name } },
    }),
  ).toBe(0);
  return job;
}

describe('background CSV import jobs (embedded database)', () => {
  let engine: Awaited<ReturnType<typeof startTestEngine>>;
  let api: ApiClient;
  beforeAll(async () => {
    engine = await startTestEngine('embedded');
    api = apiClient(engine);
  });
  afterAll(async () => {
    await engine?.cleanup();
  });

  it('imports a large file in the background, with progress, rejected rows and idempotent re-imports', async () => {
    const s = uniqueSuffix();
    const file = generatedFile(s, 1_200);
    const chunks = Math.ceil(1_200 / IMPORT_CHUNK);

    const { res, job: accepted } = await startImport(api, file.csv, 'prefer');
    expect(res.status).toBe(202);
    expect(res.headers.get('location')).toBe(`/v1/imports/${accepted.id}`);
    expect(res.headers.get('preference-applied')).toBe('respond-async');
    expect(accepted).toMatchObject({ status: 'queued', totalRows: 1_200, doneRows: 0 });

    const { job, seen } = await pollUntilFinished(api, accepted.id);
    expect(job.error).toBeNull();
    expect(job.status).toBe('done');
    // Progress only moves forward, a whole chunk at a time, and ends at the file's size.
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    for (const done of seen) expect(done % IMPORT_CHUNK === 0 || done === 1_200).toBe(true);
    expect(job.doneRows).toBe(job.totalRows);
    expect(chunks).toBeGreaterThan(1);
    expect(job).toMatchObject({ imported: file.valid.length, updated: 0 });
    expect(job.rejectedCount).toBe(file.rejected.length);
    expect(job.rejected?.map((r) => r.row)).toEqual(file.rejected.map((r) => r.row));
    job.rejected?.forEach((r, i) => expect(r.reason).toContain(file.rejected[i]?.reason));

    const stored = await engine.deps.prisma.contact.count({
      where: { emailKey: { in: file.valid.map((e) => e.toLowerCase()) } },
    });
    expect(stored).toBe(file.valid.length);
    const last = await engine.deps.prisma.contact.findFirstOrThrow({
      where: { emailKey: `bulk1198.${s}@example.com` },
    });
    expect(last.attributes).toMatchObject({ firstName: 'Person 1198', plan: 'pro' });
    // The file is not kept once the job is done.
    const row = await engine.deps.prisma.importJob.findUniqueOrThrow({ where: { id: job.id } });
    expect(row.csv).toBeNull();
    expect(row.finishedAt).not.toBeNull();

    // The same file through a second job stores nothing new: every valid row is an update.
    const again = await startImport(api, file.csv, 'query');
    expect(again.res.status).toBe(202);
    const second = (await pollUntilFinished(api, again.job.id)).job;
    expect(second).toMatchObject({
      status: 'done',
      imported: 0,
      updated: file.valid.length,
      rejectedCount: file.rejected.length,
    });
    const events = await engine.deps.prisma.event.count({
      where: { messageId: { startsWith: 'import:' }, type: 'identify' },
    });
    expect(events).toBe(file.valid.length);

    // Both jobs are listed, a page at a time, without their rejected rows.
    const listed: JobBody[] = [];
    let cursor: string | null = null;
    do {
      const page = await api.get(`/v1/imports?limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      const body = page.body as { data: JobBody[]; nextCursor: string | null };
      expect(body.data.length).toBeLessThanOrEqual(1);
      listed.push(...body.data);
      cursor = body.nextCursor;
    } while (cursor);
    expect(listed.map((j) => j.id)).toEqual([accepted.id, again.job.id]);
    expect(listed[0]).toMatchObject({ rejectedCount: file.rejected.length, status: 'done' });
    expect(listed[0]?.rejected).toBeUndefined();

    // Another workspace's key sees no such job.
    const intruder = await createWorkspace(api, `imports ${s}`);
    const hidden = await intruder.api.get(`/v1/imports/${accepted.id}`);
    expect(hidden.status).toBe(404);
    const theirs = await intruder.api.get('/v1/imports');
    expect((theirs.body as { data: unknown[] }).data).toEqual([]);
  }, 300_000);

  it('tries a chunk again after a passing database error instead of failing the job', async () => {
    const s = uniqueSuffix();
    const file = generatedFile(s, 30);
    const victim = file.valid[5] ?? '';
    const { sql, prisma } = engine.deps;
    // The database refuses the victim's row once: its identify event (a sequence counts outside
    // transactions, so the retry is let through).
    const once = `fault_once_${s}`;
    await sql.query(`CREATE SEQUENCE ${once}`);
    try {
      const job = await refusingInserts(
        sql,
        'events',
        `CASE WHEN NEW.properties->>'email' = '${victim}' THEN nextval('${once}') = 1 ELSE false END`,
        async () => {
          const { res, job: accepted } = await startImport(api, file.csv, 'query');
          expect(res.status).toBe(202);
          return (await pollUntilFinished(api, accepted.id)).job;
        },
      );
      expect(job).toMatchObject({ status: 'done', rejectedCount: file.rejected.length });
      // Every valid row once; those the failed attempt had made count as updated.
      expect(job.imported + job.updated).toBe(file.valid.length);
      const [met] = await sql.query<{ is_called: boolean }>(`SELECT is_called FROM ${once}`);
      expect(met?.is_called, 'the fault was met').toBe(true);
      expect(await prisma.contact.count({ where: { emailKey: victim } })).toBe(1);
    } finally {
      await sql.query(`DROP SEQUENCE ${once}`);
    }
  });

  it('answers small files at once unless asked, and rejects a broken file before making a job', async () => {
    const s = uniqueSuffix();
    const sync = await api.request('POST', '/v1/contacts/import', {
      body: `email\nsmall.${s}@example.com`,
      headers: { 'content-type': 'text/csv', prefer: 'return=minimal' },
    });
    expect(sync.status).toBe(200);
    expect(await sync.json()).toMatchObject({ imported: 1, updated: 0 });

    const before = await engine.deps.prisma.importJob.count();
    const broken = await api.request('POST', '/v1/contacts/import?async=true', {
      body: 'email\n"unclosed',
      headers: { 'content-type': 'text/csv' },
    });
    expect(broken.status).toBe(422);
    expect(await engine.deps.prisma.importJob.count()).toBe(before);
  });

  it('resumes a job a stopped process left running, from the rows it had done', async () => {
    const s = uniqueSuffix();
    const file = generatedFile(s, 1_200);
    // As a process stopped after the first chunk leaves it: that chunk imported and counted.
    const first = await api.request('POST', '/v1/contacts/import?map=E-Mail:email', {
      body: file.csv
        .split('\n')
        .slice(0, IMPORT_CHUNK + 1)
        .join('\n'),
      headers: { 'content-type': 'text/csv' },
    });
    const firstReport = (await first.json()) as {
      imported: number;
      rejected: { row: number; reason: string }[];
    };
    const id = newId();
    await engine.deps.prisma.importJob.create({
      data: {
        id,
        workspaceId: 'default',
        status: 'running',
        csv: file.csv,
        mapping: { 'E-Mail': 'email' },
        totalRows: 1_200,
        doneRows: IMPORT_CHUNK,
        imported: firstReport.imported,
        rejected: firstReport.rejected,
      },
    });

    const stopResuming = resumeImportJobs(engine.deps); // what the API does when it starts
    const { job } = await pollUntilFinished(api, id).finally(stopResuming);
    expect(job).toMatchObject({
      status: 'done',
      doneRows: 1_200,
      imported: file.valid.length,
      updated: 0,
    });
    expect(job.rejected?.map((r) => r.row)).toEqual(file.rejected.map((r) => r.row));
    const stored = await engine.deps.prisma.contact.count({
      where: { emailKey: { in: file.valid.map((e) => e.toLowerCase()) } },
    });
    expect(stored).toBe(file.valid.length);
  }, 180_000);
  it('erasing a contact takes out a row naming her by a user id the export wrote guarded (+49…)', async () => {
    const userId = `+49151${String(Date.now()).slice(-7)}`;
    expect((await api.post('/v1/identify', { userId, traits: { plan: 'pro' } })).status).toBe(200);
    // As the export writes a phone-like id, guarded against spreadsheet formulas.
    const csv = `userId,plan\n'${userId},pro\nsomeone-else-${uniqueSuffix()},basic\n`;
    const id = newId();
    await engine.deps.prisma.importJob.create({
      data: {
        id,
        workspaceId: 'default',
        status: 'running',
        csv,
        mapping: {},
        totalRows: 2,
        doneRows: 0,
        imported: 0,
        updated: 0,
        rejected: [],
      },
    });
    try {
      const erased = await api.request('DELETE', `/v1/contacts/${encodeURIComponent(userId)}`);
      expect(erased.status).toBe(200);
      const { counts } = (await erased.json()) as { counts: Record<string, number> };
      expect(counts.importRows).toBe(1);
      const job = await engine.deps.prisma.importJob.findUniqueOrThrow({ where: { id } });
      expect(job.csv).not.toContain(userId.slice(1));
      expect(job.csv).toContain('someone-else-');
    } finally {
      // Nobody is to run it later (another test here resumes jobs).
      await engine.deps.prisma.importJob.update({
        where: { id },
        data: { status: 'failed', csv: null },
      });
    }
  });
  it('erasing a contact takes her rows out of a job a stopped process left, and the resumed job skips them', async () => {
    const s = uniqueSuffix();
    const { her, file, csv } = await herAndFile(api, s, 1_200);
    // As a process stopped after the first chunk leaves it (her early row imported and counted).
    const first = await api.request('POST', '/v1/contacts/import?map=E-Mail:email', {
      body: csv
        .split('\n')
        .slice(0, IMPORT_CHUNK + 1)
        .join('\n'),
      headers: { 'content-type': 'text/csv' },
    });
    const firstReport = (await first.json()) as {
      imported: number;
      updated: number;
      rejected: { row: number; reason: string }[];
    };
    expect(firstReport.updated).toBe(1);
    const id = newId();
    await engine.deps.prisma.importJob.create({
      data: {
        id,
        workspaceId: 'default',
        status: 'running',
        csv,
        mapping: { 'E-Mail': 'email' },
        totalRows: 1_202,
        doneRows: IMPORT_CHUNK,
        imported: firstReport.imported,
        updated: firstReport.updated,
        rejected: firstReport.rejected,
      },
    });
    expect(await tracesOf(engine.deps.prisma, her)).toHaveLength(1);

    const erased = await api.request('DELETE', `/v1/contacts/${her.userId}`);
    expect(erased.status).toBe(200);
    expect(((await erased.json()) as { counts: Record<string, number> }).counts.importRows).toBe(2);
    expect(await tracesOf(engine.deps.prisma, her)).toEqual([]);

    const stopResuming = resumeImportJobs(engine.deps);
    const job = await expectGoneAfter(engine.deps.prisma, id, her, file).finally(stopResuming);
    expect(job).toMatchObject({ totalRows: 1_202, imported: file.valid.length, updated: 1 });
  }, 180_000);
});

// In the embedded database a running job keeps the process busy until it ends, so only here
// can an erase arrive while the job is halfway through its file.
describe.runIf(databaseVariants().includes('postgres'))(
  'background CSV import jobs and erasure (postgres database)',
  () => {
    let engine: Awaited<ReturnType<typeof startTestEngine>>;
    let api: ApiClient;
    beforeAll(async () => {
      engine = await startTestEngine('postgres');
      api = apiClient(engine);
    });
    afterAll(async () => {
      await engine?.cleanup();
    });

    it('an erase during a background import takes her rows out, and later chunks do not bring her back', async () => {
      const s = uniqueSuffix();
      const { her, file, csv } = await herAndFile(api, s, 1_200);
      const { res, job: accepted } = await startImport(api, csv, 'prefer');
      expect(res.status).toBe(202);

      const erased = await api.request('DELETE', `/v1/contacts/${her.userId}`);
      expect(erased.status).toBe(200);
      const { counts } = (await erased.json()) as { counts: Record<string, number> };
      // Both rows were still in the file: the job had not finished.
      expect(counts.importRows).toBe(2);
      expect(await tracesOf(engine.deps.prisma, her)).toEqual([]);

      const job = await expectGoneAfter(engine.deps.prisma, accepted.id, her, file);
      expect(job.totalRows).toBe(1_202);
      // Her early row is in the first chunk, which the erase may overtake: counted as an update
      // (or as new, if the erase came between the chunk's lookup and its write), then erased.
      expect(job.imported).toBeGreaterThanOrEqual(file.valid.length);
      expect(job.imported + job.updated).toBeLessThanOrEqual(file.valid.length + 1);
    }, 300_000);
  },
);
