import { Prisma } from '@prisma/client';

/**
 * True when a write failed on a unique constraint. Prisma reports it as P2002 on PostgreSQL;
 * on the embedded database the PGlite adapter passes PostgreSQL's own error (SQLSTATE 23505)
 * through as a `DriverAdapterError` instead.
 */
export function isUniqueViolation(error: unknown): boolean {
  if (error instanceof Prisma.PrismaClientKnownRequestError) return error.code === 'P2002';
  if (!(error instanceof Error) || error.name !== 'DriverAdapterError') return false;
  const cause: unknown = Reflect.get(error, 'cause');
  return typeof cause === 'object' && cause !== null && Reflect.get(cause, 'code') === '23505';
}

/**
 * True when a statement sent through the driver (`store/sql.ts`) failed on the named unique
 * constraint: `pg` and PGlite both report PostgreSQL's SQLSTATE and the constraint's name.
 */
export function violates(error: unknown, constraint: string): boolean {
  return (
    error instanceof Error &&
    Reflect.get(error, 'code') === '23505' &&
    Reflect.get(error, 'constraint') === constraint
  );
}
