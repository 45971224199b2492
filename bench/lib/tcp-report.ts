/**
 * What `npm run bench -- tcp` writes from its rows: the summary, the checks, the Markdown
 * (tables and notes), the chart and the settings. Pure: no I/O.
 */
import { barChart } from '../../apps/plot/chart/index.ts';
import { keepFreedMemoryLine } from '../../framework/agent/freed-memory.ts';
import { boundCheck, conditionCheck, timingCheck } from './checks.ts';
import { num, table, verdict } from './markdown.ts';
import { sig } from './stats.ts';
import {
  type Case,
  DIM,
  HIDDEN,
  type Row,
  type Sample,
  SETTLE_MS,
  TARGET_20MB,
  TARGET_100MB,
  WARM_UP_JOBS,
  type Wire,
  wireName,
} from './tcp-case.ts';
import { WRITE_BYTES } from './tcp-processes.ts';

/** A finished run: its rows (one per case) and what they came from. */
export interface TcpRun {
  readonly quick: boolean;
  /** The two sizes moved, MB (20.8 and 100 in a full run). */
  readonly small: number;
  readonly large: number;
  readonly reps: number;
  readonly rowBytes: number;
  readonly cases: readonly Case[];
  readonly rows: readonly Row[];
  readonly samples: readonly Sample[];
  readonly warmUps: readonly { wire: Wire; sizeMB: number; migrationMs: number | null }[];
}

export type TcpSummary = ReturnType<typeof tcpSummary>;

export function tcpSummary(run: TcpRun) {
  const { quick: q, small, large, reps, rows, samples, warmUps } = run;
  const at = (wire: Wire, mb: number) => rows.find((r) => r.wire === wire && r.sizeMB === mb) ?? null;
  const tcpSmall = at('tcp', small);
  const tcpLarge = at('tcp', large);
  const tlsSmall = at('tls', small);
  // The headline fields are named for the sizes moved: null in --quick, which moves less.
  const full = (v: number | null) => (q ? null : sig(v));
  return {
    tcpRatio20MB: full(tcpSmall?.ratio ?? null),
    tcpRatio100MB: full(tcpLarge?.ratio ?? null),
    tlsRatio20MB: full(tlsSmall?.ratio ?? null),
    // The same ratios labelled by what moved, in either mode (quick: tiny sizes).
    tcpRatioSmall: sig(tcpSmall?.ratio ?? null),
    tcpRatioLarge: sig(tcpLarge?.ratio ?? null),
    tlsRatioSmall: sig(tlsSmall?.ratio ?? null),
    movedMBSmall: tcpSmall?.movedMB ?? null,
    movedMBLarge: tcpLarge?.movedMB ?? null,
    movedMBSmallTls: tlsSmall?.movedMB ?? null,
    tcpRatioSmallMin: tcpSmall?.ratioMin ?? null,
    tcpRatioSmallMax: tcpSmall?.ratioMax ?? null,
    tcpRatioSmallPaired: tcpSmall?.ratioPaired ?? null,
    tcpRatioLargePaired: tcpLarge?.ratioPaired ?? null,
    // Against raw sends over a connection that has just carried the same bytes (the
    // baseline until 2026-12-01): a move's connection has carried none.
    tcpRatio20MBWarmConnection: full(tcpSmall?.ratioWarmConnection ?? null),
    tcpRatio100MBWarmConnection: full(tcpLarge?.ratioWarmConnection ?? null),
    tlsRatio20MBWarmConnection: full(tlsSmall?.ratioWarmConnection ?? null),
    tcpRatioSmallWarmConnection: tcpSmall?.ratioWarmConnection ?? null,
    tcpRatioLargeWarmConnection: tcpLarge?.ratioWarmConnection ?? null,
    rawTcpMsSmallWarmConnection: tcpSmall?.rawWarmMs ?? null,
    rawTcpMsLargeWarmConnection: tcpLarge?.rawWarmMs ?? null,
    admMsSmall: tcpSmall?.migrationMs ?? null,
    rawTcpMsSmall: tcpSmall?.rawMs ?? null,
    admMsLarge: tcpLarge?.migrationMs ?? null,
    rawTcpMsLarge: tcpLarge?.rawMs ?? null,
    admTlsMsSmall: tlsSmall?.migrationMs ?? null,
    rawTlsMsSmall: tlsSmall?.rawMs ?? null,
    samplesPerCase: reps,
    target20MB: TARGET_20MB,
    target100MB: TARGET_100MB,
    targetMet20MB: q ? null : (tcpSmall?.ratio ?? Infinity) <= TARGET_20MB,
    targetMet100MB: q ? null : (tcpLarge?.ratio ?? Infinity) <= TARGET_100MB,
    // The first (unmeasured) job of each case, for the cost of a cold start.
    warmUpAdmMsSmall: sig(warmUps.find((w) => w.wire === 'tcp' && w.sizeMB === small)?.migrationMs ?? null),
    warmUpAdmMsLarge: sig(warmUps.find((w) => w.wire === 'tcp' && w.sizeMB === large)?.migrationMs ?? null),
    // What a1 holds resident before the move: its share, its receive pool (up to as much again), Node.
    receiverRssMBSmall: tcpSmall?.receiverRssMB ?? null,
    receiverRssMBLarge: tcpLarge?.receiverRssMB ?? null,
    // Main-thread CPU (ms, medians): the move from the vacate until its data had moved
    // (movedMs of wall time), beside one raw send (rawTcpMs* of wall time).
    movedMsLarge: tcpLarge?.movedMs ?? null,
    admSenderCpuMsLarge: tcpLarge?.moveSenderCpuMs ?? null,
    admReceiverCpuMsLarge: tcpLarge?.moveReceiverCpuMs ?? null,
    admCoordinatorCpuMsLarge: tcpLarge?.moveCoordinatorCpuMs ?? null,
    rawSenderCpuMsLarge: tcpLarge?.rawSenderCpuMs ?? null,
    rawReceiverCpuMsLarge: tcpLarge?.rawReceiverCpuMs ?? null,
    movedMsSmall: tcpSmall?.movedMs ?? null,
    admSenderCpuMsSmall: tcpSmall?.moveSenderCpuMs ?? null,
    admReceiverCpuMsSmall: tcpSmall?.moveReceiverCpuMs ?? null,
    admCoordinatorCpuMsSmall: tcpSmall?.moveCoordinatorCpuMs ?? null,
    rawSenderCpuMsSmall: tcpSmall?.rawSenderCpuMs ?? null,
    rawReceiverCpuMsSmall: tcpSmall?.rawReceiverCpuMs ?? null,
    // The same over the kept connection (the CPU baseline until 2026-12-01).
    rawSenderCpuMsLargeWarmConnection: tcpLarge?.rawWarmSenderCpuMs ?? null,
    rawReceiverCpuMsLargeWarmConnection: tcpLarge?.rawWarmReceiverCpuMs ?? null,
    rawSenderCpuMsSmallWarmConnection: tcpSmall?.rawWarmSenderCpuMs ?? null,
    rawReceiverCpuMsSmallWarmConnection: tcpSmall?.rawWarmReceiverCpuMs ?? null,
    bytesMismatches: samples.filter((s) => s.mismatch).length,
    allOnlyEvacuation: samples.every((s) => s.onlyEvacuation),
  };
}

export function tcpChecks(rows: readonly Row[], summary: TcpSummary) {
  return [
    // The move crosses loopback once (a0 → a1) and a1 keeps the bytes: faster than one raw send
    // of the same bytes means the record found is not this move.
    ...rows.map((r) =>
      boundCheck(
        `ADM move ÷ raw ${r.wire} @${r.sizeMB}MB`,
        r.ratio,
        'the move took less time than one raw send of the same bytes: the record found is not the evacuation, or bytesMoved counts bytes that did not move',
      ),
    ),
    // bytesMoved is counted from the moved rows' columns (a fixed size a row), not on the wire:
    // this checks that exactly a0's rows moved; paper-network checks the wire (a0's egress).
    conditionCheck(
      'bytesMoved = bytes a0 held (rows moved = rows a0 held)',
      summary.bytesMismatches === 0,
      `${summary.bytesMismatches} sample(s) moved other than exactly what a0 held`,
    ),
    timingCheck(
      'the evacuation was the only redistribution',
      summary.allOnlyEvacuation,
      'another redistribution ran in a job (a rebalance), or the record found is not an evacuation',
    ),
  ];
}

export function tcpMarkdown(run: TcpRun, summary: TcpSummary): string {
  const { reps, rowBytes, rows } = run;
  return [
    `Two \`admove agent\` processes on loopback (a0 and a1, one worker thread each, started once for all repetitions; a second pair with \`--secret-file\` for TLS) run a 2-worker ADM job on Opt's kernel (${DIM}-${HIDDEN}-10, synthetic exemplars of ${rowBytes} bytes: 4 id + 4 label + 4 × ${DIM} features + 1 flag), equal speeds, unthrottled, **speed rebalancing off**, a fresh job per repetition, after ${WARM_UP_JOBS} unmeasured warm-up job per row (a case's first move is several times slower than the rest: its migration is in the JSON, \`warmUps\`). The training set is twice the size in the first column, so **a0 holds exactly that** (checked against the bytes moved). After one warm-up pass a0 is vacated between passes; the next pass applies the vacate first. The ADM time is that evacuation's **migration time** (\`RedistributionRecord.migrationMs\`: the vacate's receipt until a1 computes again). Beside it, in the same run: **raw sends** of the same number of bytes from this process to another one on loopback, one right before each job and one ${SETTLE_MS} ms after it closed, each right after an untimed send of the same bytes on a connection kept for the row, as the move comes right after a pass. **The raw sends the ratio uses go over a connection opened for each** (untimed) that has carried only a 1 KB exchange and a 1-byte answer, like the move's connection: a0 dials a1 when its worker's first pass begins and they exchange a hello and a welcome (about 0.1 KB each), so the move's bytes are the first data it carries. Beside each, a send over the kept connection is timed too, which has just carried the same bytes and whose socket buffers have grown (the *kept connection* columns); the two are timed back to back, in alternating order (fresh first before the job in even repetitions, after it in odd ones: \`rawOrder\` in the JSON). ${WRITE_BYTES >> 20} MiB writes of distinct memory; from the first write until the receiver's one-byte answer, sent once it has all of them. Medians of ${reps} repetitions; the ratio, which the targets are checked on, is median ADM ÷ median raw over all ${2 * reps} raw sends (min–max of the per-repetition ratios, each against the mean of its two raw sends; *paired median*: the median of those per-repetition ratios, shown beside it).`,
    '',
    "A move between agents goes **straight from agent to agent**: the coordinator sends a0 the plan (a ticket and a1's address per part), then asks a1 to take the part; over the connection a0 opened to a1 when the job began computing (the job's setup names its agents), a0 streams its batches to a1 as Arrow IPC streams (one per ~1 MB batch, the body buffers written as views of the batch, no copy; 4 batches a message, each message written once the socket has taken the previous one); a1 assembles each frame once, in place; once every row is in its memory it answers the coordinator, then confirms to a0 and hands the rows to its worker thread (its next request waits for that, and says how long it waited: the coordinator adds it to the migration). The job goes on once a1 has answered, without waiting for a0's reply. The coordinator receives only replies (a few hundred bytes). *stream a0 → a1* is the redistribution start until a0 is empty (a1's answer received: `obtrusivenessMs` − wait); *a1 insert and resume* the rest of the migration time.",
    '',
    table(
      [
        'wire',
        'moved (MB)',
        'ADM migration (ms, min–max)',
        'wait (ms)',
        'stream a0 → a1 (ms)',
        'a1 insert and resume (ms)',
        'raw send (ms, min–max)',
        'ADM ÷ raw (min–max)',
        'paired median',
        'raw, kept connection (ms)',
        'ADM ÷ raw, kept connection',
        'hop 1 ÷ raw',
        'hop 2 ÷ raw',
        'warm copy (ms)',
        'fresh copy (ms)',
        'a1 resident before (MB)',
      ],
      rows.map((r) => [
        wireName(r.wire),
        r.movedMB,
        `${num(r.migrationMs ?? Number.NaN)} (${num(r.migrationMinMs ?? Number.NaN)}–${num(r.migrationMaxMs ?? Number.NaN)})`,
        r.deferralMs,
        r.hop1Ms,
        r.hop2Ms,
        `${num(r.rawMs ?? Number.NaN)} (${num(r.rawMinMs ?? Number.NaN)}–${num(r.rawMaxMs ?? Number.NaN)})`,
        `${num(r.ratio ?? Number.NaN)} (${num(r.ratioMin ?? Number.NaN)}–${num(r.ratioMax ?? Number.NaN)})`,
        r.ratioPaired,
        r.rawWarmMs,
        r.ratioWarmConnection,
        r.hop1Ratio,
        r.hop2Ratio,
        r.memcpyWarmMs,
        r.memcpyFreshMs,
        r.receiverRssMB,
      ]),
    ),
    '',
    "**Where the time goes** (medians; `lib/thread-cpu.ts`): the CPU time of each process's main thread (this process is the coordinator and the raw sender). The move is measured from the vacate until its data had moved (a1 answered: *moved*), the raw send over one timed send over a fresh connection (the kept connection's are in the summary, `raw…CpuMs…WarmConnection`). Wall time a side does not spend on the CPU it waited: for the other side, for a core, for the network stack (on loopback the sender's system calls also run the receiving side of TCP). Another process's thread read while it runs is behind by up to one scheduler tick (4 ms at HZ=250): a1, often still busy when its answer arrives, is counted short rather than long.",
    '',
    table(
      [
        'wire',
        'moved (MB)',
        'ADM: vacate → moved (ms)',
        'a0 CPU (ms)',
        'a1 CPU (ms)',
        'coordinator CPU (ms)',
        'raw send (ms)',
        'raw sender CPU (ms)',
        'raw receiver CPU (ms)',
      ],
      rows.map((r) => [
        wireName(r.wire),
        r.movedMB,
        r.movedMs,
        r.moveSenderCpuMs,
        r.moveReceiverCpuMs,
        r.moveCoordinatorCpuMs,
        r.rawMs,
        r.rawSenderCpuMs,
        r.rawReceiverCpuMs,
      ]),
    ),
    '',
    table(
      ['target', 'value', ''],
      [
        [
          `ADM move ÷ raw TCP ≤ ${TARGET_20MB} at 20.8 MB`,
          summary.tcpRatio20MB,
          verdict(summary.tcpRatio20MB, TARGET_20MB),
        ],
        [
          `ADM move ÷ raw TCP ≤ ${TARGET_100MB} at 100 MB`,
          summary.tcpRatio100MB,
          verdict(summary.tcpRatio100MB, TARGET_100MB),
        ],
        [`ADM move over TLS ÷ raw TLS at 20.8 MB`, summary.tlsRatio20MB, '–'],
        [
          'the same three against raw sends over the kept connection',
          `${num(summary.tcpRatio20MBWarmConnection ?? Number.NaN)}, ${num(summary.tcpRatio100MBWarmConnection ?? Number.NaN)}, ${num(summary.tlsRatio20MBWarmConnection ?? Number.NaN)}`,
          '–',
        ],
      ],
    ),
    '### Notes',
    '',
    "- **Raw sends go over fresh connections** (since 2026-12-01; before, over the kept connection): a connection that has carried no data starts with the kernel's initial socket buffers (16 KiB to send, 128 KiB to receive here, growing as data flows), and the move's connection has carried none. In a probe of 11 sends each, a fresh connection took 10.5 vs 7.4 ms at 20.8 MB and 33.6 vs 30.1 ms at 100 MB; in this benchmark's first four runs (2026-12-01, 20:29–20:35) the difference was smaller: 0.3–1.1 ms at 20.8 MB, −1.1 to +1.0 ms at 100 MB. The raw sends over the kept connection, and the ratios against them, stay in the table and the summary (`…WarmConnection`; the CPU table's raw columns are the fresh connection's, the kept connection's CPU is in the summary). admove does not grow its peer connections' buffers ahead of a move (Node cannot set a TCP socket's buffer sizes; sending filler data when a link is dialled, or keeping links across jobs, could).",
    "- **Raw sends come right after other sends**: the first timed one of each pair right after an untimed one of the same bytes, the second right after the first, as the move comes right after a pass. After the 500 ms pause alone they started on idle cores and were slower (100 MB: medians 37 vs 29 ms with a 500 vs 50 ms pause, 12 sends each), which put three runs' 100 MB ratios below 1 on 2026-12-01.",
    "- The raw TLS send uses admove's own TLS 1.3 with the pre-shared key (`framework/net/secure-socket.ts` `listen`/`connect`, the agents' code) and its framing (`FramedConnection.sendBytes`, one frame per MiB), so its receiver copies each frame once, as the agents' does; the raw TCP receiver only counts bytes.",
    "- **Receive pool.** The agents run with `--receive-pool` (off by default): each pre-faults memory for incoming exemplar bodies once a job's first pass begins (`framework/net/receive-pool.ts`, `framework/agent/receive-memory.ts`): as much as its initial share, within `--max-memory`, touched page by page in the background, so a move's frames are assembled in warm memory instead of faulting fresh pages in during the move. The cost is memory: a1 holds its share *and* up to as much again while it waits (the *a1 resident before* column: VmRSS of a1 right before the vacate, so Node's own ~100 MB included), and the fault-in time is spent during the first pass instead of the move. The raw receiver is unchanged: it still only counts bytes.",
    `- **Freed memory kept.** The agents start with \`${keepFreedMemoryLine()}\` in their environment (glibc malloc; README, "Keeping freed memory"): what an agent frees during a move (socket reads, frames, batches sent away) stays mapped for its next buffers instead of faulting in again. The raw sender and receiver run with glibc's defaults: they keep nothing.`,
    '- *Warm copy* and *fresh copy* are one in-process copy of the bytes moved into pre-allocated and into fresh memory (`lib/lower-bounds.ts`, as in `redistribution`), measured in the same run. a1 must put the bytes it receives into memory it keeps: on this machine the first touch of fresh memory is slow (see the fresh-copy column), and the raw receiver, which throws its bytes away, never pays it. Without a receive pool *raw + fresh copy* would be the fair floor of a move here; with it (the first note) the pages are faulted in before the move, so the floor is the raw send plus what writing the bytes into kept memory costs beyond writing them into one hot buffer: less than the warm copy, which also reads every byte once more. No ratio against the fresh copy is published any more (it fell below 1).',
    "- **Where the time goes.** The CPU table sets each end of the move beside its counterpart in a raw send. On loopback neither end of a raw send is busy all the time: the sender's system calls also run the receiving side of TCP, and each end waits for the other. What a move's ends spend beyond a raw send's is their own work, most likely streaming Arrow IPC frames and following the move's messages on a0, and assembling frames into the receive pool and decoding them on a1 (this benchmark measures the totals, not the split). The coordinator's CPU includes reading these clocks at the vacate and when the data has moved (tens of microseconds, inside the migration time).",
    "- The sender of the raw sends is this benchmark's process (which is also the coordinator); the receiver is a process of its own. Connection set-up and the TLS handshake are not timed, nor are they in the move (the job's connections are open before the vacate).",
    '- The machine has 2 cores shared by the coordinator, both agents (each a main thread and a worker thread) and whatever else runs: the load at the start and the end is in the header.',
    "- **Ratios of single repetitions** (the min–max in brackets) are each repetition's move against the mean of its own two raw sends. One below 1 is not a move faster than a send of its bytes (a move cannot be): the raw sends of that repetition were slowed, and they vary more between repetitions (6.5–15.6 ms at 20.8 MB in a run of 2026-12-01) than the moves do. The measure, and the bound checked, is the ratio of the medians.",
  ].join('\n');
}

export function tcpChart(rows: readonly Row[], reps: number) {
  const label = (r: Row) => `${r.wire.toUpperCase()}, ${r.movedMB} MB`;
  return barChart({
    title: 'Move between two agents (direct, a0 → a1) vs a raw send',
    subtitle: `loopback · one agent vacated between passes · medians of ${reps}`,
    categories: rows.map(label),
    x: { label: 'wire and bytes moved' },
    y: { label: 'time', unit: 'ms' },
    series: [
      { name: 'ADM migration', values: rows.map((r) => r.migrationMs), colour: '#0072B2' },
      { name: 'stream a0 → a1', values: rows.map((r) => r.hop1Ms), colour: '#56B4E9' },
      { name: 'a1 insert and resume', values: rows.map((r) => r.hop2Ms), colour: '#CC79A7' },
      { name: 'raw send (fresh connection)', values: rows.map((r) => r.rawMs), colour: '#009E73' },
    ],
  });
}

export function tcpSettings(run: TcpRun) {
  const { cases, reps, rowBytes } = run;
  return {
    cases,
    repetitions: reps,
    dim: DIM,
    hidden: HIDDEN,
    bytesPerExemplar: rowBytes,
    agents:
      'admove agent --listen 127.0.0.1:0 --name a0|a1 (1 worker each), real processes; TLS pair with --secret-file',
    workers: 2,
    rebalance: false,
    emulateSpeeds: false,
    vacate: 'a0, between passes (after one warm-up pass), fresh job per repetition',
    warmUpJobs: WARM_UP_JOBS,
    rawSend: `to a separate process, right before each job and ${SETTLE_MS} ms after it closed, each right after an untimed send on a connection kept for the case: timed over a connection opened for it that has carried a 1 KB exchange (like the move's connection), and over the kept connection, in alternating order; ${WRITE_BYTES} B writes, timed from the first write to the receiver's 1-byte answer`,
    ratio: 'median(ADM migrationMs) ÷ median(raw send ms over fresh connections, before and after)',
    ratioWarmConnection:
      'median(ADM migrationMs) ÷ median(raw send ms over the kept connection, before and after)',
  };
}
