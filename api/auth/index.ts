// Public surface of api/auth/: API keys, their scopes, and the middleware that checks them.
export { authenticate } from './authenticate.js';
export { authOf, setAuth, type AuthContext } from './context.js';
export { credentialsFrom } from './credentials.js';
export {
  createApiKey,
  createWorkspaceWithAdminKey,
  KeyStore,
  type CreatedKey,
  type StoredKey,
} from './key-store.js';
export {
  generateKey,
  hashKey,
  isScope,
  safeEqual,
  scopeAllows,
  SCOPES,
  type Scope,
} from './keys.js';
export { isPublicPath, PUBLIC_PATHS, requiredScope } from './access-rules.js';
export { ensureDevApiKey } from './dev-key.js';
