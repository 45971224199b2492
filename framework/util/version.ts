import { readFileSync } from 'node:fs';

/**
 * The version of this admove installation, from its package.json (the sources and the
 * compiled `dist/` sit at different depths below it, so look upwards). Agents and
 * coordinators of different versions refuse each other at the handshake.
 */
export const ADMOVE_VERSION: string = findVersion();

function findVersion(): string {
  let dir = new URL('./', import.meta.url);
  for (let depth = 0; depth < 6; depth++) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('package.json', dir), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'admove' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // no package.json here: look one level up
    }
    dir = new URL('../', dir);
  }
  return 'unknown';
}
