#!/usr/bin/env node
// The hub's command line. TypeScript sources run through tsx, so the same files serve in
// development, in tests and in the container.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../app/cli.ts');
process.exitCode = await main(process.argv.slice(2));
