import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { importContactsCommand } from '../../bin/import.command.js';
import { loadConfig } from '../../config/index.js';
import { parseColumnMapping } from '../../engine/contacts/column-mapping.js';
import { openDatabase } from '../../store/index.js';

describe('column mapping (`?map=` of the API, `--map` of the CLI)', () => {
  it('reads header:target pairs, the last colon of a pair separating', () => {
    expect(parseColumnMapping('E-Mail:email, Customer no : userId')).toEqual(
      new Map([
        ['E-Mail', 'email'],
        ['Customer no', 'userId'],
      ]),
    );
    expect(parseColumnMapping('Ref: internal:userId')).toEqual(
      new Map([['Ref: internal', 'userId']]),
    );
  });

  it('refuses a pair without a header or a target', () => {
    for (const raw of ['', 'Mail', ':email', 'Mail:', 'Mail:email,', 'Mail:email,,plan:tier'])
      expect(parseColumnMapping(raw), raw).toBeNull();
  });
});

describe('drumbeat import-contacts --map', () => {
  const dirs: string[] = [];
  const scratch = async () => {
    const dir = await mkdtemp(join(tmpdir(), 'drumbeat-import-cli-'));
    dirs.push(dir);
    return dir;
  };
  afterEach(async () => {
    vi.restoreAllMocks();
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  });

  it('maps a header holding a colon as the API does', async () => {
    const dir = await scratch();
    const file = join(dir, 'contacts.csv');
    await writeFile(file, 'Mail,Ref: internal,plan\nada@example.com,crm-7,pro\n');
    const config = loadConfig({ DATA_DIR: dir, DATABASE_URL: '' });
    vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const code = await importContactsCommand(config, file, {
      map: 'Mail:email,Ref: internal:userId',
    });
    expect(code).toBe(0);
    const db = await openDatabase({ kind: 'embedded', dataDir: join(dir, 'db') });
    try {
      const contact = await db.prisma.contact.findFirst({ where: { userId: 'crm-7' } });
      expect(contact).toMatchObject({ email: 'ada@example.com', attributes: { plan: 'pro' } });
    } finally {
      await db.close();
    }
  }, 120_000);

  it('refuses a mapping the API refuses, before opening the database', async () => {
    const dir = await scratch();
    const file = join(dir, 'contacts.csv');
    await writeFile(file, 'Mail\nada@example.com\n');
    const errors: unknown[] = [];
    vi.spyOn(console, 'error').mockImplementation((message: unknown) => errors.push(message));
    const config = loadConfig({ DATA_DIR: dir, DATABASE_URL: '' });
    expect(await importContactsCommand(config, file, { map: 'Mail' })).toBe(2);
    expect(errors).toEqual(['--map must look like "Column:target,Other column:target".']);
    expect(await readdir(dir)).not.toContain('db');
  });
});
