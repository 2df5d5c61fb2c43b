/**
 * Reads the API key from a request's Authorization header: `Bearer <key>`, or HTTP Basic with
 * the key as user name and an empty password, which is how Segment clients send a write key.
 */
export function credentialsFrom(authorization: string | undefined): string | null {
  if (!authorization) return null;
  const [scheme = '', value = ''] = authorization.trim().split(/\s+/, 2);
  switch (scheme.toLowerCase()) {
    case 'bearer':
      return value || null;
    case 'basic': {
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      const user = colon === -1 ? decoded : decoded.slice(0, colon);
      return user || null;
    }
    default:
      return null;
  }
}
