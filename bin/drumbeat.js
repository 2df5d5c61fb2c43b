#!/usr/bin/env node
// `npx drumbeat …`: runs the TypeScript entry point through tsx, which the package depends on.
import { register } from 'tsx/esm/api';

register();
await import('./drumbeat.ts');
