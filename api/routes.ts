import type { Express } from 'express';

export interface RouteInfo {
  readonly method: string;
  /** Express form: `/v1/contacts/:idOrUserId`. */
  readonly path: string;
}

/**
 * Every route the app answers, read from Express's own router stack (routes on the app and on
 * routers mounted without a prefix, which is how every Drumbeat router is mounted). The OpenAPI
 * document and the tenant isolation test use it, so a new route can never be missed by either.
 */
export function listRoutes(app: Express): RouteInfo[] {
  const routes: RouteInfo[] = [];
  const visit = (stack: unknown) => {
    if (!Array.isArray(stack)) return;
    for (const layer of stack) {
      if (typeof layer !== 'object' || layer === null) continue;
      const route: unknown = Reflect.get(layer, 'route');
      if (typeof route === 'object' && route !== null) {
        const path: unknown = Reflect.get(route, 'path');
        const methods: unknown = Reflect.get(route, 'methods');
        // A route may answer several paths (`router.post(['/v1/batch', '/v1/import'], …)`).
        const paths = (Array.isArray(path) ? path : [path]).filter(
          (p): p is string => typeof p === 'string',
        );
        if (typeof methods === 'object' && methods !== null)
          for (const [method, on] of Object.entries(methods))
            if (on === true && method !== '_all')
              for (const p of paths) routes.push({ method: method.toUpperCase(), path: p });
        continue;
      }
      const handle: unknown = Reflect.get(layer, 'handle');
      if (typeof handle === 'function') visit(Reflect.get(handle, 'stack'));
    }
  };
  visit(
    Reflect.get(app, 'router') === undefined
      ? []
      : Reflect.get(Reflect.get(app, 'router'), 'stack'),
  );
  return routes;
}
