import { Router } from 'express';

export type ReadinessCheck = () => Promise<Record<string, boolean>>;

/** `/healthz`: the process answers. `/readyz`: the database and Temporal answer too. */
export function healthRouter(readiness: ReadinessCheck): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const checks = await readiness();
    const ready = Object.values(checks).every(Boolean);
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready', checks });
  });
  return router;
}
