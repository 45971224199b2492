import { existsSync, readFileSync, statSync } from 'node:fs';

/**
 * The compiled WebAssembly module of Opt's SIMD kernel, once per thread.
 *
 * `npm run build` (which `npm ci` runs through `prepare`) assembles opt-kernel.wat into
 * opt-kernel.wasm beside it and beside the compiled kernel in dist/. A source tree whose
 * .wasm is missing or older than its .wat (an edited clone, a test run before any build)
 * assembles the .wat in memory with the same assembler, so the sources never run stale code.
 */
const wasmUrl = new URL('./opt-kernel.wasm', import.meta.url);
const watUrl = new URL('./opt-kernel.wat', import.meta.url);

async function kernelBytes(): Promise<Uint8Array> {
  const haveWasm = existsSync(wasmUrl);
  const haveWat = existsSync(watUrl);
  if (haveWasm && (!haveWat || statSync(wasmUrl).mtimeMs >= statSync(watUrl).mtimeMs)) {
    return readFileSync(wasmUrl);
  }
  if (!haveWat) throw new Error(`Opt's SIMD kernel is missing ${wasmUrl.pathname}; run npm run build`);
  // Only in a source tree (dist/ holds the .wasm alone), where devDependencies are installed.
  const { assembleWat } = await import('./assemble.mjs');
  return assembleWat(readFileSync(watUrl, 'utf8'));
}

export const optKernelWasm: WebAssembly.Module = new WebAssembly.Module(await kernelBytes());
