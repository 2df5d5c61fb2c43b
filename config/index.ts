import { resolve } from 'node:path';
import { loadDkim, type DkimKey } from './dkim.js';
import { loadOrCreateDevSecret } from './secret-key.js';

export type { DkimKey } from './dkim.js';

/**
 * Every setting Drumbeat reads, from environment variables only, validated once at start-up.
 * `loadConfig` reports every bad variable at once and the process refuses to start.
 */
export interface Config {
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  /** PostgreSQL URL; null = the embedded database under `dataDir`. */
  readonly databaseUrl: string | null;
  /** An existing Temporal cluster; null = start a dev server. */
  readonly temporalAddress: string | null;
  readonly temporalNamespace: string;
  readonly taskQueue: string;
  readonly temporalPort: number;
  readonly temporalUiPort: number;
  /** A real mail relay; null = the embedded SMTP sink. */
  readonly smtpUrl: string | null;
  readonly smtpSinkPort: number;
  readonly mailFrom: string;
  /** Signs every outgoing message with DKIM when set; see docs/email-and-tasks.md. */
  readonly dkim: DkimKey | null;
  readonly templatesDir: string;
  readonly publicUrl: string;
  /** Workflows a worker keeps in memory; bounds its memory whatever the number of enrollments. */
  readonly workerCacheSize: number;
  /** Signs unsubscribe, tracking and webhook tokens; see docs/email-and-tasks.md. */
  readonly secretKey: string;
  /** API: structured log level (LOG_LEVEL), see docs/api.md. */
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /** API: when set, `/metrics` needs `Authorization: Bearer <METRICS_TOKEN>`. */
  readonly metricsToken: string | null;
  /** API: token bucket per API key and per webhook source; perSecond 0 = off. */
  readonly rateLimit: { readonly perSecond: number; readonly burst: number };
  /** API: largest accepted request body, in kilobytes. */
  readonly bodyLimitKb: number;
  /**
   * Worker: let journey webhooks call loopback, private and link-local addresses. Off by
   * default in every mode, embedded included: a tenant's journey could otherwise reach the
   * engine's own network (internal services, cloud metadata at 169.254.169.254).
   */
  readonly webhookAllowPrivateNetworks: boolean;
  /**
   * API: an event still unrouted this long after it was received has lost its process (a
   * crash, a failed write) and is routed by whichever process looks next; see docs/api.md.
   */
  readonly routingRecoverySeconds: number;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'CONFIG_INVALID';
  constructor(readonly problems: readonly string[]) {
    super(
      `Drumbeat cannot start; fix these environment variables:\n  - ${problems.join('\n  - ')}`,
    );
  }
}

type Env = Readonly<Record<string, string | undefined>>;

export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = [];
  const port = (name: string, fallback: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0 || n > 65535) {
      problems.push(`${name}=${raw} is not a port number (0-65535).`);
      return fallback;
    }
    return n;
  };
  const text = (name: string, fallback: string): string => {
    const raw = env[name];
    return raw === undefined || raw.trim() === '' ? fallback : raw.trim();
  };
  const optionalUrl = (name: string, protocols: readonly string[]): string | null => {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') return null;
    try {
      const url = new URL(raw);
      if (!protocols.includes(url.protocol))
        problems.push(`${name} must start with ${protocols.map((p) => `${p}//`).join(' or ')}.`);
    } catch {
      problems.push(`${name} is not a valid URL.`);
    }
    return raw.trim();
  };
  const hostPort = (name: string): string | null => {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') return null;
    if (!/^[A-Za-z0-9.\-[\]:]+:\d{1,5}$/.test(raw.trim()))
      problems.push(`${name}=${raw} must be host:port, for example 127.0.0.1:7233.`);
    return raw.trim();
  };

  const count = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${name}=${raw} must be a whole number from ${min} to ${max}.`);
      return fallback;
    }
    return n;
  };
  const oneOf = <T extends string>(name: string, allowed: readonly T[], fallback: T): T => {
    const raw = env[name]?.trim().toLowerCase();
    if (raw === undefined || raw === '') return fallback;
    const found = allowed.find((a) => a === raw);
    if (found === undefined) problems.push(`${name}=${raw} must be one of ${allowed.join(', ')}.`);
    return found ?? fallback;
  };

  const positiveInt = (name: string, fallback: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1) {
      problems.push(`${name}=${raw} must be a whole number of at least 1.`);
      return fallback;
    }
    return n;
  };
  const apiPort = port('PORT', 3000);
  const host = text('HOST', '127.0.0.1');
  const config: Omit<Config, 'secretKey'> = {
    host,
    port: apiPort,
    dataDir: resolve(text('DATA_DIR', '.data')),
    databaseUrl: optionalUrl('DATABASE_URL', ['postgres:', 'postgresql:']),
    temporalAddress: hostPort('TEMPORAL_ADDRESS'),
    temporalNamespace: text('TEMPORAL_NAMESPACE', 'default'),
    taskQueue: text('TEMPORAL_TASK_QUEUE', 'drumbeat'),
    temporalPort: port('TEMPORAL_PORT', 7233),
    temporalUiPort: port('TEMPORAL_UI_PORT', 8233),
    smtpUrl: optionalUrl('SMTP_URL', ['smtp:', 'smtps:']),
    smtpSinkPort: port('SMTP_SINK_PORT', 2525),
    mailFrom: text('MAIL_FROM', 'Drumbeat <drumbeat@localhost>'),
    dkim: loadDkim(env, problems),
    templatesDir: resolve(text('TEMPLATES_DIR', 'templates')),
    publicUrl: text('PUBLIC_URL', `http://${host}:${apiPort}`).replace(/\/+$/, ''),
    workerCacheSize: positiveInt('WORKER_CACHE_SIZE', 500),
    logLevel: oneOf('LOG_LEVEL', ['debug', 'info', 'warn', 'error', 'silent'] as const, 'info'),
    metricsToken: env.METRICS_TOKEN?.trim() ? env.METRICS_TOKEN.trim() : null,
    rateLimit: {
      perSecond: count('RATE_LIMIT_PER_SECOND', 1000, 0, 1_000_000),
      burst: count('RATE_LIMIT_BURST', 2000, 1, 10_000_000),
    },
    bodyLimitKb: count('BODY_LIMIT_KB', 512, 1, 102_400),
    webhookAllowPrivateNetworks:
      oneOf('WEBHOOK_ALLOW_PRIVATE_NETWORKS', ['true', 'false'] as const, 'false') === 'true',
    routingRecoverySeconds: count('ROUTING_RECOVERY_SECONDS', 30, 1, 86_400),
  };
  if (env.PUBLIC_URL?.trim()) optionalUrl('PUBLIC_URL', ['http:', 'https:']);
  if (config.metricsToken !== null && config.metricsToken.length < 16)
    problems.push('METRICS_TOKEN must be at least 16 characters long.');
  if (problems.length > 0) throw new ConfigError(problems);
  // Last, so a bad DATA_DIR or DATABASE_URL is reported before anything is written to disk.
  const secretKey = secret(env, config.databaseUrl, config.dataDir);
  if (typeof secretKey !== 'string') throw new ConfigError([secretKey.problem]);
  return { ...config, secretKey };
}

/**
 * SECRET_KEY signs links that must not be forged (unsubscribe, tracking, webhooks). In
 * production (NODE_ENV=production with DATABASE_URL) it must be set, and be the same on every
 * process; elsewhere a random key is generated once and kept in DATA_DIR/secret-key.
 */
function secret(
  env: Env,
  databaseUrl: string | null,
  dataDir: string,
): string | { problem: string } {
  const raw = env.SECRET_KEY?.trim() ?? '';
  if (raw.length >= 32) return raw;
  if (raw !== '') return { problem: 'SECRET_KEY must be at least 32 characters long.' };
  if (databaseUrl !== null && env.NODE_ENV === 'production')
    return { problem: 'SECRET_KEY is required in production (DATABASE_URL is set).' };
  return loadOrCreateDevSecret(dataDir);
}
