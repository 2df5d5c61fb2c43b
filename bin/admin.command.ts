import { join } from 'node:path';
import { createApiKey, createWorkspaceWithAdminKey } from '../api/index.js';
import { isScope } from '../api/auth/index.js';
import type { Config } from '../config/index.js';
import { openDatabase, type Database } from '../store/index.js';

async function withDatabase<T>(config: Config, work: (db: Database) => Promise<T>): Promise<T> {
  const db = await openDatabase(
    config.databaseUrl
      ? { kind: 'postgres', url: config.databaseUrl }
      : { kind: 'embedded', dataDir: join(config.dataDir, 'db') },
  );
  try {
    return await work(db);
  } finally {
    await db.close();
  }
}

/** `drumbeat workspace create <name>`: a workspace and its first admin key (shown once). */
export async function createWorkspaceCommand(config: Config, name: string): Promise<number> {
  if (!name.trim()) {
    console.error('Give the workspace a name: drumbeat workspace create "Acme".');
    return 2;
  }
  return withDatabase(config, async ({ prisma }) => {
    const { workspace, key } = await createWorkspaceWithAdminKey(prisma, name.trim());
    console.log(`Workspace ${workspace.id} ("${workspace.name}") created.`);
    console.log(`Admin API key (shown once, store it now):\n  ${key.key}`);
    return 0;
  });
}

/** `drumbeat api-key create --workspace <id> --scope admin|write|ingest [--name n]`. */
export async function createApiKeyCommand(
  config: Config,
  options: Readonly<Record<string, string>>,
): Promise<number> {
  const workspaceId = options.workspace ?? 'default';
  const scope = options.scope ?? 'admin';
  if (!isScope(scope)) {
    console.error(`--scope must be admin, write or ingest (not "${scope}").`);
    return 2;
  }
  return withDatabase(config, async ({ prisma }) => {
    const workspace = await prisma.workspace.findUnique({ where: { id: workspaceId } });
    if (!workspace) {
      console.error(`There is no workspace "${workspaceId}".`);
      return 1;
    }
    const key = await createApiKey(prisma, {
      workspaceId,
      name: options.name ?? `${scope} key (CLI)`,
      scope,
    });
    console.log(
      `API key ${key.id} (${scope}) for workspace ${workspaceId}; shown once:\n  ${key.key}`,
    );
    return 0;
  });
}
