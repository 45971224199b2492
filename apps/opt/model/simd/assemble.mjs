// Assembles opt-kernel.wat into opt-kernel.wasm with wabt (an npm devDependency, pure
// JavaScript + WebAssembly, nothing downloaded). `npm run build` runs this file, writing the
// .wasm beside the .wat and into dist/ beside the compiled kernel; a source tree without a
// current .wasm assembles it in memory through `assembleWat` (see wasm-bytes.ts).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const WAT = 'opt-kernel.wat';

/** The .wasm bytes of a .wat text; throws wabt's message (with line numbers) if it does not assemble. */
export async function assembleWat(text, name = WAT) {
  const { default: initWabt } = await import('wabt');
  const wabt = await initWabt();
  const module = wabt.parseWat(name, text, { simd: true });
  try {
    module.validate();
    return module.toBinary({}).buffer;
  } finally {
    module.destroy();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const here = new URL('./', import.meta.url);
  const bytes = await assembleWat(readFileSync(new URL(WAT, here), 'utf8'));
  const root = new URL('../../../../', import.meta.url);
  const targets = [
    new URL('opt-kernel.wasm', here),
    new URL('dist/apps/opt/model/simd/opt-kernel.wasm', root),
  ];
  for (const target of targets) {
    mkdirSync(new URL('./', target), { recursive: true });
    writeFileSync(target, bytes);
  }
  console.log(`assembled ${WAT}: ${bytes.length} bytes`);
}
