export {
  openDatabase,
  DEFAULT_WORKSPACE_ID,
  type Database,
  type DatabaseKind,
  type DatabaseOptions,
} from './database.js';
export { applyMigrations, MIGRATIONS_DIR, type SqlRunner } from './migrate.js';
export { newId } from './ids.js';
export type { PrismaClient, Prisma } from '@prisma/client';
export { pgliteSql, postgresSql, prismaTxSql, sqlTime, type Sql } from './sql.js';
export { isUniqueViolation, violates } from './unique-violation.js';
export { isDeadlock, retryOnDeadlock } from './deadlock.js';
export { coalesce, coalescePerHandle } from './coalesce.js';
