import type { Prisma } from '@prisma/client';
import type { Sql } from '../store/index.js';

/** Which step of which enrollment a side effect belongs to, and what kind it is. */
export interface SideEffectRef {
  readonly key: string;
  readonly enrollmentId: string;
  readonly stepId: string;
  readonly kind: string;
}

/** Writes the side effect's status and result, creating its row if no attempt made it yet. */
export async function writeSideEffect(
  sql: Sql,
  ref: SideEffectRef,
  status: 'started' | 'done' | 'failed',
  result: Prisma.InputJsonObject,
): Promise<void> {
  await sql.query(
    `INSERT INTO side_effects (key, enrollment_id, step_id, kind, status, result, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6::jsonb, now())
     ON CONFLICT (key) DO UPDATE SET status = EXCLUDED.status, result = EXCLUDED.result, updated_at = now()`,
    [ref.key, ref.enrollmentId, ref.stepId, ref.kind, status, JSON.stringify(result)],
  );
}
