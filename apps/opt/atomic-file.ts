import { unlinkSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';

/**
 * Output files are written whole or not at all: into a temporary file next to the target,
 * fsync'd, then renamed over it. A failure removes the temporary file; so does an exit in the
 * middle (e.g. a second Ctrl-C), through the exit hook below.
 */

/** The temporary file `path` is written through (same directory, so the rename is atomic). */
export function temporaryPathFor(path: string): string {
  return `${path}.${process.pid}.tmp`;
}

const inFlight = new Set<string>();
let hooked = false;

function removeInFlight(): void {
  for (const path of inFlight) {
    try {
      unlinkSync(path);
    } catch {
      // already gone
    }
  }
}

export async function writeFileAtomic(path: string, text: string): Promise<void> {
  if (!hooked) {
    process.on('exit', removeInFlight);
    hooked = true;
  }
  const temporary = temporaryPathFor(path);
  inFlight.add(temporary);
  try {
    const handle = await open(temporary, 'w');
    try {
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
  } catch (error) {
    await unlink(temporary).catch(() => {});
    throw error;
  } finally {
    inFlight.delete(temporary);
  }
}
