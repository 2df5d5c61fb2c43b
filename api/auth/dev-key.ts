import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PrismaClient } from '@prisma/client';
import { DEFAULT_WORKSPACE_ID } from '../../store/index.js';
import { createApiKey } from './key-store.js';
import { hashKey } from './keys.js';

export const DEV_KEY_FILE = 'dev-api-key';

/**
 * The quick start's key: an admin key for the default workspace, kept in DATA_DIR/dev-api-key
 * (mode 0600) so `curl -H "Authorization: Bearer $(cat .data/dev-api-key)"` works. Created on
 * first start; made again if the file is gone or its key was revoked.
 */
export async function ensureDevApiKey(prisma: PrismaClient, dataDir: string): Promise<string> {
  const file = join(dataDir, DEV_KEY_FILE);
  const existing = await readFile(file, 'utf8').then(
    (text) => text.trim(),
    () => null,
  );
  if (existing) {
    const row = await prisma.apiKey.findUnique({ where: { hash: hashKey(existing) } });
    if (row && row.revokedAt === null) return existing;
  }
  const created = await createApiKey(prisma, {
    workspaceId: DEFAULT_WORKSPACE_ID,
    name: 'development key (DATA_DIR/dev-api-key)',
    scope: 'admin',
  });
  await writeFile(file, `${created.key}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
  return created.key;
}
