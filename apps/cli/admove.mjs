#!/usr/bin/env node
// The admove command. It runs the compiled JavaScript in dist/ (built by `npm ci` through the
// `prepare` script, and by `npm test`) when that is newer than every TypeScript source;
// otherwise the sources themselves through tsx's loader, so an edited clone works unbuilt.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// Ctrl-C or SIGTERM while the modules load: nothing has started, so exit at once, with the
// shell's codes, instead of dying by the signal.
const exitAtOnce = (signal) => process.exit(signal === 'SIGTERM' ? 143 : 130);
process.on('SIGINT', exitAtOnce);
process.on('SIGTERM', exitAtOnce);
// Unhandled, SIGUSR1 makes Node open its inspector on port 9229: a debugger anyone on the
// host could attach to. Slurm sends it as a notice (admove slurm handles it); else it is ignored.
process.on('SIGUSR1', () => {});

const root = fileURLToPath(new URL('../../', import.meta.url));
const built = `${root}dist/.built`;

/** The newest modification time of a .ts file under `dir` (ms), 0 if none. */
function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

function compiledIsCurrent() {
  if (!existsSync(built)) return false;
  const builtAt = statSync(built).mtimeMs;
  return ['framework', 'apps', 'scheduler-stub'].every((d) => newestSource(`${root}${d}`) <= builtAt);
}

let run;
if (compiledIsCurrent()) {
  ({ run } = await import('../../dist/apps/cli/main.js'));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ run } = await import('./main.ts'));
}
// `run` replaces exitAtOnce with its own handlers (apps/cli/signals.ts) once they are in.
await run(process.argv.slice(2));
