import type { PrismaClient } from '@prisma/client';
import type { EngineDeps } from '../engine/index.js';
import type { Mailer, TemplateStore } from '../mail/index.js';
import type { Sql } from '../store/index.js';

/** Everything activities touch, passed in so tests and entry points wire real parts explicitly. */
export interface ActivityDeps {
  readonly prisma: PrismaClient;
  readonly sql: Sql;
  readonly mailer: Mailer;
  readonly templates: TemplateStore;
  readonly config: {
    readonly mailFrom: string;
    /** Signs unsubscribe and tracking links and webhook calls. */
    readonly secretKey: string;
    /** Where links in emails point (the API's public address). */
    readonly publicUrl: string;
    /** Webhooks may call loopback, private and link-local addresses (off when absent). */
    readonly webhookAllowPrivateNetworks?: boolean;
  };
  /** The engine (store + Temporal client), for activities that enroll contacts. */
  readonly engine?: EngineDeps;
}
