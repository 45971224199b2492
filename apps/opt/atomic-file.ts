import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';

/**
 * Output files are written whole or not at all: into a temporary file next to the target,
 * fsync'd, then renamed over it. A failure removes the temporary file; so does an exit in the
 * middle (e.g. a second Ctrl-C), through the exit hook below.
 *
 * The steps are synchronous on purpose: a signal handler runs only between them and the rest
 * of the write, never while one is under way on libuv's thread pool. Asynchronously, an exit
 * hook could unlink the temporary file while a pool thread was still creating it, which then
 * stayed behind (seen once in the hostile suite: SIGINT twice during training).
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
    const fd = openSync(temporary, 'w');
    try {
      writeFileSync(fd, text); // loops until every byte is written
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, path);
  } catch (error) {
    try {
      unlinkSync(temporary);
    } catch {
      // never created, or already gone
    }
    throw error;
  } finally {
    inFlight.delete(temporary);
  }
}
