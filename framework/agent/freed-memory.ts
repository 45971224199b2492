/**
 * glibc malloc settings under which an agent keeps the memory it frees, for its next
 * buffers, instead of handing it back to the kernel.
 *
 * Why: a move makes an agent allocate and free tens of MB (socket reads, frames, batches
 * sent away), and memory handed back has to fault in again the next time: on the VMs this
 * was measured on, 4–12 ms per MB, several times the loopback transfer itself. A 20.8 MB
 * move between two loopback agents (probe runs of 6 fresh jobs on the same agents, the first
 * job of each left out) took 94–123 ms with glibc's defaults and 40–75 ms with these; with
 * the receive pool already full before the move (all 6 jobs), 103–143 ms and 64–80 ms. The
 * cost: the agent's resident memory stays at its peak until it exits.
 *
 * glibc reads them when the process starts, so they belong in the agent's environment (the
 * benchmark's agents get them; `admove agent` says so when they are missing). Elsewhere
 * (musl, macOS) they are ignored.
 */
export const KEEP_FREED_MEMORY_ENV: Readonly<Record<string, string>> = {
  // Blocks up to 32 MB (every exemplar batch and frame) come from the heap, not mmap...
  MALLOC_MMAP_THRESHOLD_: String(32 << 20),
  // ...and the heap is never trimmed: freed pages stay mapped, warm.
  MALLOC_TRIM_THRESHOLD_: String(2 ** 32),
};

/** Whether this process started with `KEEP_FREED_MEMORY_ENV` (Linux with glibc only). */
export function keepsFreedMemory(env: NodeJS.ProcessEnv = process.env): boolean {
  return Object.keys(KEEP_FREED_MEMORY_ENV).every((k) => env[k] !== undefined);
}

/** The shell line that sets them, for messages and docs. */
export function keepFreedMemoryLine(): string {
  return Object.entries(KEEP_FREED_MEMORY_ENV)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}
