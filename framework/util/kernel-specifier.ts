import { moduleBeside } from './module-url.ts';

/**
 * Kernels named so that another installation can find its own copy. The coordinator's kernel
 * is a `file:` URL on its disk; an agent on another machine has admove installed elsewhere,
 * perhaps compiled where the coordinator runs the sources. A kernel inside admove's tree
 * travels as `admove:<path without extension>` (e.g. `admove:apps/opt/model/kernel`) and
 * each side resolves it below its own code root, in its own flavour (.ts or .js). Anything
 * else (a package specifier, a URL outside the tree) travels as it is and is imported as it is.
 */
const PREFIX = 'admove:';

/** This installation's code root: the repository for the sources, `dist/` when compiled. */
const codeRoot = new URL('../../', import.meta.url).href;

export function portableKernel(href: string): string {
  if (!href.startsWith(codeRoot)) return href;
  const relative = href.slice(codeRoot.length).replace(/\.(ts|js|mjs)$/, '');
  return PREFIX + relative;
}

export function resolveKernel(specifier: string): string {
  if (!specifier.startsWith(PREFIX)) return specifier;
  const relative = specifier.slice(PREFIX.length);
  if (relative.split('/').includes('..')) throw new Error(`kernel ${specifier} leaves admove's tree`);
  return moduleBeside(import.meta.url, `../../${relative}`);
}
