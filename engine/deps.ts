import type { PrismaClient } from '@prisma/client';
import type { Client } from '@temporalio/client';
import type { TemplateStore } from '../mail/index.js';
import type { Sql } from '../store/index.js';

/** What the engine's use cases need: the store, Temporal, and the templates validation checks. */
export interface EngineDeps {
  readonly prisma: PrismaClient;
  /** The same database without Prisma, for the hot paths (store/sql.ts). */
  readonly sql: Sql;
  readonly temporal: Client;
  readonly taskQueue: string;
  readonly templates: TemplateStore;
}
