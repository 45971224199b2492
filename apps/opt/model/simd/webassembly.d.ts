/**
 * The few WebAssembly globals the SIMD kernel uses. Node has them all; neither @types/node 20
 * nor lib ES2023 declares them (lib.dom does, which this project does not load).
 */
declare namespace WebAssembly {
  class Module {
    constructor(bytes: ArrayBufferView | ArrayBuffer);
  }
  class Instance {
    constructor(module: Module, imports?: Record<string, Record<string, unknown>>);
    readonly exports: Record<string, unknown>;
  }
  class Memory {
    readonly buffer: ArrayBuffer;
    /** Adds `pages` pages of 64 KiB; returns the previous size in pages. */
    grow(pages: number): number;
  }
}
