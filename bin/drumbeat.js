#!/usr/bin/env node
// `npm start`, `npx drumbeat …`: runs the TypeScript entry point through tsx, which the package
// depends on. tsx is registered here rather than with `--import tsx` on the command line: the
// worker's workflow threads inherit the process's command-line flags, and with tsx loaded there
// Node looks for a source map in every function the workflow sandbox compiles (Temporal's
// promise hook compiles one per promise). Measured in the execution bench's CPU profile.
import { register } from 'tsx/esm/api';

register();
await import('./drumbeat.ts');
