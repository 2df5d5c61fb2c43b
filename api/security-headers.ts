import type { RequestHandler } from 'express';

/**
 * Headers for an API that serves JSON: nothing may be framed, sniffed, cached or run as a page.
 * Routes that serve documents (the docs page, a mailbox message) set their own CSP after this.
 */
export function securityHeaders(options: { https: boolean }): RequestHandler {
  return (_req, res, next) => {
    res.set({
      'X-Content-Type-Options': 'nosniff',
      'X-Frame-Options': 'DENY',
      'Referrer-Policy': 'no-referrer',
      'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'",
      'Cross-Origin-Resource-Policy': 'same-origin',
      'Cache-Control': 'no-store',
      ...(options.https ? { 'Strict-Transport-Security': 'max-age=31536000' } : {}),
    });
    next();
  };
}
