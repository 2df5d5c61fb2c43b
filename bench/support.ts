import { Agent, request } from 'node:http';
import pg from 'pg';
import { SMTPServer } from 'smtp-server';

/** Helpers the benchmarks share: bounded concurrency and a scratch PostgreSQL database. */

export const BENCH_ADMIN_URL =
  process.env.BENCH_POSTGRES_ADMIN_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

/** Runs `work` over `items` with at most `concurrency` in flight. */
export async function pool<T>(
  items: readonly T[],
  concurrency: number,
  work: (item: T) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const item = items[next++];
        if (item !== undefined) await work(item);
      }
    }),
  );
}

/**
 * The benches' HTTP clients: a POST of JSON over kept-alive `node:http` connections, as a load
 * generator (wrk, autocannon) would send it. Node's `fetch` costs several times the CPU per
 * request (web streams over undici), and the clients share this process and its two cores with
 * the API being measured, while the raw baselines have no HTTP client at all.
 */
export function jsonPoster(
  baseUrl: string,
  headers: Readonly<Record<string, string>>,
  connections: number,
): (path: string, body: unknown) => Promise<{ status: number; text: string }> {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const base = new URL(baseUrl);
  return (path, body) =>
    new Promise((resolve, reject) => {
      const payload = Buffer.from(JSON.stringify(body));
      const req = request(
        {
          agent,
          host: base.hostname,
          port: base.port,
          path,
          method: 'POST',
          headers: {
            ...headers,
            'content-type': 'application/json',
            'content-length': payload.length,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
}

/** A fresh database for one benchmark run; `drop()` removes it. Null when PostgreSQL is not reachable. */
export async function scratchDatabase(
  prefix: string,
  adminUrl = BENCH_ADMIN_URL,
): Promise<{ url: string; drop(): Promise<void> } | null> {
  const admin = new pg.Client({ connectionString: adminUrl });
  try {
    await admin.connect();
  } catch {
    return null;
  }
  const name = `${prefix}_${process.pid}_${Date.now()}`;
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await c.end();
    },
  };
}

/**
 * The benches' stand-in for the recipients' mail server: an SMTP server that reads each message
 * and reports its envelope recipients, without parsing the MIME body. A real recipient's server
 * is another machine; here it shares the cores with what is measured, so it does no more than
 * the benches need (the engine's own sink parses every message for the dev mailbox, a few
 * milliseconds of CPU each).
 */
export async function startEnvelopeSink(
  onDelivered: (to: readonly string[]) => void = () => undefined,
): Promise<{ url: string; stop(): Promise<void> }> {
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      stream.on('data', () => undefined);
      stream.on('end', () => {
        onDelivered(session.envelope.rcptTo.map((r) => r.address));
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `smtp://127.0.0.1:${port}`,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
