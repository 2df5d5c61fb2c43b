import { createServer } from 'node:net';

/** Who wants a port, so the error can say what clashed and how to move it. */
export type PortHint = {
  /** What would have listened there, e.g. "Temporal dev server". */
  what: string;
  /** Environment variable that moves it, e.g. "TEMPORAL_PORT". */
  envVar?: string;
};

/** A port we need is taken by another process (often a previous run that is still up). */
export class PortInUseError extends Error {
  readonly code = 'PORT_IN_USE';
  readonly port: number;

  constructor(port: number, hint: PortHint) {
    const fix = hint.envVar ? `set ${hint.envVar}` : 'choose another port';
    super(`Port ${port} is already in use (${hint.what}). Stop whatever uses it or ${fix}.`);
    this.name = 'PortInUseError';
    this.port = port;
  }
}

/** True when nothing listens on host:port (we can bind it ourselves right now). */
export function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') resolve(false);
      else reject(err);
    });
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolve(true)));
  });
}

/** A port the OS says is free now. Another process may take it before we use it: rare. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen({ port: 0, host, exclusive: true }, () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => (port ? resolve(port) : reject(new Error('No port was assigned'))));
    });
  });
}

/** Throws PortInUseError unless host:port is free. */
export async function assertPortFree(port: number, host: string, hint: PortHint): Promise<void> {
  if (!(await isPortFree(port, host))) throw new PortInUseError(port, hint);
}
