/** The .wasm bytes of a .wat text (see assemble.mjs). */
export function assembleWat(text: string, name?: string): Promise<Uint8Array>;
