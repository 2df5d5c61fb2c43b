import type { PrismaClient } from '@prisma/client';
import { Router } from 'express';
import { enrollmentsByState, registry } from '../metrics/index.js';
import { safeEqual } from './auth/index.js';
import { HttpProblem, PROBLEM_BASE } from './problem.js';

/** Prometheus metrics; with METRICS_TOKEN set, scrapers must send it as a Bearer token. */
export function metricsRouter(prisma: PrismaClient, token: string | null): Router {
  const router = Router();
  router.get('/metrics', async (req, res) => {
    if (token !== null) {
      const given = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1] ?? '';
      if (!safeEqual(given, token))
        throw new HttpProblem(
          401,
          `${PROBLEM_BASE}unauthenticated`,
          'Unauthenticated',
          'Send METRICS_TOKEN as a Bearer token.',
        );
    }
    const counts = await prisma.enrollment.groupBy({ by: ['status'], _count: { _all: true } });
    enrollmentsByState.reset();
    for (const c of counts) enrollmentsByState.set({ state: c.status }, c._count._all);
    res.type(registry.contentType).send(await registry.metrics());
  });
  return router;
}
