// Public surface of runtime/: what `npm start` needs to run Temporal on this machine.
export {
  findTemporalCli,
  startTemporalDevServer,
  TemporalCliMissingError,
  TemporalDevServerError,
} from './temporal-cli.js';
export type { TemporalDevServer, TemporalDevServerOptions } from './temporal-cli.js';
export { assertPortFree, freePort, isPortFree, PortInUseError } from './ports.js';
export type { PortHint } from './ports.js';
