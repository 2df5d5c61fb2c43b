import type { PrismaClient, Workspace } from '@prisma/client';
import { newId } from '../../store/index.js';
import { generateKey, hashKey, isScope, safeEqual, type Scope } from './keys.js';

export interface StoredKey {
  readonly id: string;
  readonly workspaceId: string;
  readonly scope: Scope;
}

export interface CreatedKey {
  readonly id: string;
  readonly workspaceId: string;
  readonly name: string;
  readonly scope: Scope;
  readonly prefix: string;
  readonly createdAt: Date;
  /** Shown once: only its hash is stored. */
  readonly key: string;
}

/**
 * Creates a workspace and its first admin key in one transaction: a workspace without a key
 * could never be reached, and a retry after a failure would make another.
 */
export async function createWorkspaceWithAdminKey(
  prisma: PrismaClient,
  name: string,
): Promise<{ readonly workspace: Workspace; readonly key: CreatedKey }> {
  return prisma.$transaction(async (tx) => {
    const workspace = await tx.workspace.create({ data: { id: newId(), name } });
    const key = await createApiKey(tx, {
      workspaceId: workspace.id,
      name: 'first admin key',
      scope: 'admin',
    });
    return { workspace, key };
  });
}

/** Creates an API key for a workspace and returns it with the secret, which is never stored. */
export async function createApiKey(
  prisma: Pick<PrismaClient, 'apiKey'>,
  input: { workspaceId: string; name: string; scope: Scope },
): Promise<CreatedKey> {
  const generated = generateKey(input.scope);
  const row = await prisma.apiKey.create({
    data: {
      id: newId(),
      workspaceId: input.workspaceId,
      name: input.name,
      scope: input.scope,
      prefix: generated.prefix,
      hash: generated.hash,
    },
  });
  return {
    id: row.id,
    workspaceId: row.workspaceId,
    name: row.name,
    scope: input.scope,
    prefix: row.prefix,
    createdAt: row.createdAt,
    key: generated.key,
  };
}

const CACHE_TTL_MS = 5_000;

/**
 * Resolves keys to workspaces. Lookups are cached for a few seconds so ingestion does not pay a
 * query per request; a revocation made through this process takes effect at once, one made
 * elsewhere within CACHE_TTL_MS.
 */
export class KeyStore {
  private readonly cache = new Map<string, { key: StoredKey | null; until: number }>();
  /** Counts {@link forget} calls: a lookup that one overtook does not cache what it read. */
  private forgets = 0;

  constructor(private readonly prisma: PrismaClient) {}

  async resolve(secret: string): Promise<StoredKey | null> {
    if (secret.length > 200) return null;
    const hash = hashKey(secret);
    const now = Date.now();
    const cached = this.cache.get(hash);
    if (cached && cached.until > now) return cached.key;
    const forgets = this.forgets;
    const row = await this.prisma.apiKey.findUnique({ where: { hash } });
    // A key revoked while this read was in flight (its row read before the revocation, the cache
    // emptied before this answer came): read again rather than keep it for CACHE_TTL_MS.
    if (this.forgets !== forgets) return this.resolve(secret);
    // The index found the row by hash; compare again in constant time all the same.
    const key =
      row && row.revokedAt === null && safeEqual(row.hash, hash) && isScope(row.scope)
        ? { id: row.id, workspaceId: row.workspaceId, scope: row.scope }
        : null;
    // Recorded on cache misses only, so at most once per key every CACHE_TTL_MS.
    if (key)
      void this.prisma.apiKey
        .update({ where: { id: key.id }, data: { lastUsedAt: new Date(now) } })
        .catch(() => undefined);
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(hash, { key, until: now + CACHE_TTL_MS });
    return key;
  }

  forget(keyId: string): void {
    this.forgets++;
    for (const [hash, entry] of this.cache) if (entry.key?.id === keyId) this.cache.delete(hash);
  }
}
