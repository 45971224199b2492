/**
 * The raw sends `npm run bench -- tcp` sets beside each move: timed sends of the moved bytes
 * to the sink process, over a fresh connection and over one kept for the case.
 */
import type { RawChannel } from './tcp-processes.ts';
import { cpuSince, mainThreadOf, readClocks, thisMainThread } from './thread-cpu.ts';

export interface RawTiming {
  readonly ms: number;
  readonly senderCpuMs: number | null;
  readonly receiverCpuMs: number | null;
}

/** The exchange a fresh raw connection makes before its timed send (a peer link's hello and welcome). */
const HELLO = new Uint8Array(1024);

export type RawOrder = 'fresh first' | 'kept first';

/**
 * Two timed raw sends of `data`, after an untimed one on `kept`: one on `kept` (which has
 * just carried the same bytes) and one on a connection `open`ed for it that has carried only
 * a 1 KB exchange, back to back in `order`. The move streams over a connection of the second
 * kind: a0 dials a1 when its worker's first pass begins, they exchange a hello and a welcome,
 * and its first bytes of data are the move's. A connection that has carried nothing starts
 * with the kernel's small initial socket buffers (here 16 KiB to send, 128 KiB to receive;
 * they grow as data flows): in a probe of 11 sends each, a fresh connection took 10.5 vs
 * 7.4 ms at 20.8 MB and 33.6 vs 30.1 ms at 100 MB (2026-12-01). Opening it and the exchange
 * are not timed, as the move's dial is not.
 *
 * Right after other sends: the move comes right after the job's warm-up pass, with both
 * cores busy a moment before; a raw send after the 500 ms pause (SETTLE_MS) alone starts on
 * idle cores, and was slower for it: 100 MB medians 37 vs 29 ms with a 500 vs 50 ms pause
 * between sends (12 sends each, 2026-12-01), which put three runs' 100 MB ratios below 1.
 */
export async function rawSends(
  kept: RawChannel,
  open: () => Promise<RawChannel>,
  data: Buffer,
  sinkPid: number | undefined,
  order: RawOrder,
): Promise<{ warm: RawTiming; fresh: RawTiming }> {
  const fresh = await open();
  try {
    await fresh.send(HELLO);
    await kept.send(data);
    const [first, second] = order === 'fresh first' ? [fresh, kept] : [kept, fresh];
    const a = await timedSend(first, data, sinkPid);
    const b = await timedSend(second, data, sinkPid);
    return order === 'fresh first' ? { fresh: a, warm: b } : { warm: a, fresh: b };
  } finally {
    fresh.close();
  }
}

async function timedSend(raw: RawChannel, data: Uint8Array, sinkPid: number | undefined): Promise<RawTiming> {
  const clocks = [thisMainThread, mainThreadOf(sinkPid)];
  const cpuBefore = readClocks(clocks);
  const ms = await raw.send(data);
  const [senderCpuMs, receiverCpuMs] = cpuSince(clocks, cpuBefore);
  return { ms, senderCpuMs, receiverCpuMs };
}
