import type { PrismaClient } from '@prisma/client';
import type { Client } from '@temporalio/client';
import type { TemplateStore } from '../mail/index.js';

/** What the engine's use cases need: the store, Temporal, and the templates validation checks. */
export interface EngineDeps {
  readonly prisma: PrismaClient;
  readonly temporal: Client;
  readonly taskQueue: string;
  readonly templates: TemplateStore;
}
