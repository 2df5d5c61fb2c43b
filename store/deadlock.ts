import { Prisma } from '@prisma/client';

/**
 * True when PostgreSQL aborted a transaction to break a deadlock (SQLSTATE 40P01), however it
 * arrives: from `pg` (store/sql.ts) as the error's own code, from Prisma as P2034 or as a raw
 * query's failure with PostgreSQL's code, or as a driver adapter error carrying that code.
 */
export function isDeadlock(error: unknown): boolean {
  // P2034 from Prisma's own queries; a raw query's failure (P2010) carries the adapter's error.
  if (error instanceof Prisma.PrismaClientKnownRequestError)
    return (
      error.code === 'P2034' || isDeadlock(Reflect.get(error.meta ?? {}, 'driverAdapterError'))
    );
  if (!(error instanceof Error)) return false;
  if (Reflect.get(error, 'code') === '40P01') return true;
  const cause: unknown = Reflect.get(error, 'cause');
  return (
    typeof cause === 'object' &&
    cause !== null &&
    (Reflect.get(cause, 'code') === '40P01' ||
      Reflect.get(cause, 'originalCode') === '40P01' ||
      Reflect.get(cause, 'kind') === 'TransactionWriteConflict')
  );
}

/**
 * Runs a whole transaction again when PostgreSQL chose it to break a deadlock: two writers
 * that lock one contact's rows in different orders (a rescore and a scoring pass, a merge and
 * a stage change) wait on each other, and one of them is aborted and rolled back whole, so
 * running it again is safe. `work` must open and commit its own transaction.
 */
export async function retryOnDeadlock<T>(work: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (attempt >= attempts || !isDeadlock(error)) throw error;
    }
  }
}
