/**
 * The URL of the module `path` (given without extension) next to the module at `base`, in
 * the same flavour: `.ts` when running the sources (tests, tsx), `.js` when running the
 * compiled package in `dist/`. Module URLs handed to threads (kernels, the worker entry)
 * are built with it, since a compiler rewrites import specifiers but not strings.
 */
export function moduleBeside(base: string, path: string): string {
  const extension = base.endsWith('.ts') ? '.ts' : '.js';
  return new URL(path + extension, base).href;
}
