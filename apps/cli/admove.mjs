#!/usr/bin/env node
// Runs the TypeScript CLI through tsx's loader, so a clone works after `npm ci` with no build step.
import { register } from 'tsx/esm/api';

// Ctrl-C or SIGTERM while the modules load (~1 s): nothing has started, so exit at once,
// with the shell's codes, instead of dying by the signal.
const exitAtOnce = (signal) => process.exit(signal === 'SIGTERM' ? 143 : 130);
process.on('SIGINT', exitAtOnce);
process.on('SIGTERM', exitAtOnce);
register();
const { run } = await import('./main.ts');
process.off('SIGINT', exitAtOnce);
process.off('SIGTERM', exitAtOnce);
await run(process.argv.slice(2));
