import { moduleBeside } from './module-url.ts';

/**
 * Kernels named so that another installation can find its own copy. The coordinator's kernel
 * is a `file:` URL on its disk; an agent on another machine has admove installed elsewhere,
 * perhaps compiled where the coordinator runs the sources. A kernel inside admove's tree
 * travels as `admove:<path without extension>` (e.g. `admove:apps/opt/model/kernel`) and
 * each side resolves it below its own code root, in its own flavour (.ts or .js). Anything
 * else (a package specifier, a URL outside the tree) travels as it is, and an agent refuses it.
 */
const PREFIX = 'admove:';

/** This installation's code root: the repository for the sources, `dist/` when compiled. */
const codeRoot = new URL('../../', import.meta.url).href;

export function portableKernel(href: string): string {
  if (!href.startsWith(codeRoot)) return href;
  const relative = href.slice(codeRoot.length).replace(/\.(ts|js|mjs)$/, '');
  return PREFIX + relative;
}

/**
 * Where an agent looks for kernels: the apps' code, and the test kernels of a source checkout
 * (a compiled installation has no `test/`). Not the rest of the tree: admove's benchmarks and
 * scripts run on import, and whoever may start a job must not be able to start them.
 */
const KERNEL_DIRS = ['apps/', 'test/fixtures/'];
/** A kernel module's file is named `kernel` or `…-kernel` (`simd-kernel`, `id-sum-kernel`). */
const KERNEL_FILE = /(^|-)kernel$/;

/**
 * The module an agent imports for a job's kernel. Only kernel modules inside this
 * installation's app (or test-kernel) directories are accepted: whoever may start a job on an
 * agent must not be able to make it import anything else (a `data:` URL, a file elsewhere, a
 * script of admove's that runs on import). Checked after URL normalisation, so encoded `..`
 * segments cannot leave the tree either.
 */
export function resolveKernel(specifier: string): string {
  if (!specifier.startsWith(PREFIX)) {
    throw new Error(
      `kernel ${specifier} is not part of admove (agents run only kernels inside their installation)`,
    );
  }
  const relative = specifier.slice(PREFIX.length);
  if (!/^[A-Za-z0-9_\-./]+$/.test(relative))
    throw new Error(`kernel ${specifier} is not a plain module path`);
  const href = moduleBeside(import.meta.url, `../../${relative}`);
  const parts = relative.split('/');
  if (!href.startsWith(codeRoot) || parts.includes('..')) {
    throw new Error(`kernel ${specifier} leaves admove's tree`);
  }
  // Installed packages and hidden directories sit under the root of a source checkout, but
  // are not admove's code: importing one runs whatever it does on import.
  if (parts.some((part) => part === 'node_modules' || part.startsWith('.'))) {
    throw new Error(`kernel ${specifier} is not admove's own code (a package or a hidden directory)`);
  }
  if (!KERNEL_DIRS.some((dir) => relative.startsWith(dir)) || !KERNEL_FILE.test(parts.at(-1) ?? '')) {
    throw new Error(
      `kernel ${specifier} is not a kernel module (agents import only apps/…/kernel or apps/…/NAME-kernel)`,
    );
  }
  return href;
}
