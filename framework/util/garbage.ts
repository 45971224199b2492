import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let fullCollection: (() => void) | null | undefined;

/**
 * A full garbage collection of the calling thread's heap. An agent runs one when a job ends,
 * so that its exemplars (hundreds of MB of buffers no longer referenced) go back to the
 * allocator now, while the agent is idle; and a worker thread, when its agent asks, after
 * rows in shared memory left it (worker-thread.ts).
 *
 * Why: kept freed memory (framework/agent/freed-memory.ts) only helps once it is freed.
 * Left to V8, a job's buffers were freed at some later collection, often in the middle of
 * the next job's load or move, so the next job's buffers came from fresh memory (slow to
 * fault in here) and the collection ran on the thread doing the move. Probes of 6 fresh jobs
 * on the same two loopback agents (3 runs without it, 5 with a collection at job end, the
 * first job of each run left out): 100 MB moves 73–293 ms without, 72–163 ms with; 20.8 MB
 * moves 22–83 ms and 15–64 ms.
 *
 * `gc` is exposed at run time, for the calling thread's isolate (`--expose-gc` is not
 * allowed in NODE_OPTIONS, and an agent is an ordinary CLI process); where that fails,
 * nothing is collected early. Returns whether it collected.
 */
export function collectGarbage(): boolean {
  if (fullCollection === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      fullCollection = runInNewContext('gc') as () => void;
    } catch {
      fullCollection = null;
    }
  }
  fullCollection?.();
  return fullCollection !== null;
}
