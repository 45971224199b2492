/**
 * The paper's own setting: the coordinator and two agents each in a network namespace of its
 * own, every link shaped to 10 Mbit/s (`tc … tbf`, both directions), the training set sizes of
 * the ADM paper's Table 6, each of the two workers holding half. a0 is vacated between passes
 * and its half moves to a1 (directly, agent to agent); the evacuation's migration time is set
 * beside a raw TCP send (and a raw TLS send: the job's wire) of the same bytes from a0's
 * namespace to a1's over the same shaped path, and beside the paper's columns.
 *
 * Needs root and iproute2 (`ip netns`, `tc`); elsewhere it skips with a one-line reason and
 * writes a result marked skipped. It makes and removes its namespaces itself.
 */
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { barChart } from '../apps/plot/chart/index.ts';
import { boundCheck, conditionCheck, timingCheck } from './lib/checks.ts';
import type { Benchmark } from './lib/context.ts';
import { num, table, verdict } from './lib/markdown.ts';
import type { CalibrateAnswer, JobShape, VacateAnswer } from './lib/netns-coordinator.ts';
import {
  type NetnsChild,
  startNetnsAgent,
  startNetnsCoordinator,
  startNetnsSender,
  startNetnsSink,
} from './lib/netns-processes.ts';
import {
  createTopology,
  namespacesOfThisProcess,
  netnsUnavailable,
  type QdiscStats,
  removeStaleNamespaces,
  type Topology,
} from './lib/netns-topology.ts';
import type { BenchOutput } from './lib/result.ts';
import { median, ratio, sig, spread } from './lib/stats.ts';
import { type Child, makeSecretFile, stopAll, WRITE_BYTES } from './lib/tcp-processes.ts';
import { sleep } from './lib/timing.ts';

/** The link of the paper: 10 Mbit/s Ethernet. Every veth end's egress gets this tbf. */
const RATE = '10mbit';
const RATE_BYTES_PER_S = 10e6 / 8;
const BURST = '32kbit';
const LATENCY = '400ms';
const SUBNET = '10.77.0';
const AGENT_PORT = 7000;
/** The issue's target: ADM move ÷ raw TCP at 20.8 MB. */
const TARGET_20MB = 1.1;
/** Pause after a job closes before the raw sends (the agents are still ending the job). */
const SETTLE_MS = 500;
/**
 * A raw send faster than the shaped rate (headers included) by more than this went round
 * the shaping; much slower than ~95 % of it, the shaping is not what limits it.
 */
const LINK_TOLERANCE = 1.05;
/**
 * `bytesMoved` of a direct move may count the Arrow IPC encoding of the rows (schema and
 * message headers, under 1 KB per ~1 MB batch) rather than the rows' own bytes.
 */
const BYTES_SLACK = 0.01;

/**
 * The ADM paper (papers/adaptive-load-migration-for-pvm.txt), two HP 720s on 10 Mb/s
 * Ethernet, "data size" the whole training set, each slave holding half: Table 6 (ADMopt
 * migration = obtrusiveness) and Table 2 (raw TCP; MPVM obtrusiveness, its ratio to raw TCP
 * and MPVM migration time, for PVM_opt).
 */
const PAPER = [
  { sizeMB: 0.6, admS: 1.75, rawTcpS: 0.27, mpvmObtrusiveS: 1.17, mpvmRatio: 4.3, mpvmMigrationS: 1.39 },
  { sizeMB: 4.2, admS: 4.42, rawTcpS: 1.88, mpvmObtrusiveS: 2.93, mpvmRatio: 1.56, mpvmMigrationS: 3.15 },
  { sizeMB: 5.8, admS: 5.46, rawTcpS: 2.51, mpvmObtrusiveS: 3.9, mpvmRatio: 1.55, mpvmMigrationS: 4.1 },
  { sizeMB: 9.8, admS: 9.96, rawTcpS: 4.42, mpvmObtrusiveS: 5.92, mpvmRatio: 1.34, mpvmMigrationS: 6.18 },
  { sizeMB: 13.5, admS: 12.41, rawTcpS: 6.17, mpvmObtrusiveS: 8.42, mpvmRatio: 1.36, mpvmMigrationS: 9.25 },
  { sizeMB: 20.8, admS: 21.69, rawTcpS: 10.0, mpvmObtrusiveS: 12.52, mpvmRatio: 1.25, mpvmMigrationS: 13.1 },
] as const;
const PAPER_RATIO_20MB = sig(21.69 / 10.0, 3);
const MPVM_RATIO_20MB = 1.25;

interface Sample {
  /** The whole training set (MB, as the paper's "data size"); a0 holds half. */
  readonly sizeMB: number;
  readonly rep: number;
  readonly heldExemplars: number;
  readonly heldBytes: number;
  readonly exemplarsMoved: number;
  readonly bytesMoved: number;
  /** exemplarsMoved ≠ heldExemplars, or bytesMoved off heldBytes by more than BYTES_SLACK. */
  readonly mismatch: boolean;
  readonly onlyEvacuation: boolean;
  readonly migrationMs: number;
  readonly obtrusivenessMs: number | null;
  readonly deferralMs: number;
  /** The initial load coordinator → both agents (not timed in the move). */
  readonly loadMs: number;
  /**
   * Bytes (message bodies) the coordinator received from the agents from the vacate until
   * the pass with the move ended, and over the warm-up pass: the workers' results. A move
   * relayed through the coordinator would add all of its bytes here.
   */
  readonly coordinatorBytesDuringMove: number;
  readonly coordinatorBytesPerPass: number;
  /** Bytes through a0's shaped egress during the whole job (its half, its replies). */
  readonly a0EgressBytes: number;
  /** Bytes through the bridge's shaped egress towards a1 during the job (load + the move). */
  readonly toA1Bytes: number;
  readonly rawTcpMs: number;
  readonly rawTlsMs: number;
  readonly ratioTcp: number | null;
  readonly ratioTls: number | null;
}

interface Row {
  readonly sizeMB: number;
  readonly n: number;
  readonly movedMB: number;
  readonly admMs: number | null;
  readonly admMinMs: number | null;
  readonly admMaxMs: number | null;
  readonly obtrusivenessMs: number | null;
  readonly rawTcpMs: number | null;
  readonly rawTcpMinMs: number | null;
  readonly rawTcpMaxMs: number | null;
  readonly rawTlsMs: number | null;
  /** median(ADM) ÷ median(raw TCP); min–max of the per-repetition ratios. */
  readonly ratioTcp: number | null;
  readonly ratioTcpMin: number | null;
  readonly ratioTcpMax: number | null;
  readonly ratioTls: number | null;
  readonly loadMs: number | null;
  readonly coordinatorMBDuringMove: number | null;
  readonly paper: (typeof PAPER)[number] | null;
  readonly paperRatio: number | null;
}

export const paperNetwork: Benchmark = {
  name: 'paper-network',
  title: "The paper's network: a vacate between two agents over 10 Mbit/s links vs raw TCP (Table 6 sizes)",
  estimatedSeconds: 600,
  async run(ctx) {
    const q = ctx.quick;
    const sizes = q ? [0.2] : PAPER.map((p) => p.sizeMB);
    const reps = q ? 1 : 3;
    const linkCheckBytes = q ? 500_000 : 2_500_000;
    const settings = {
      sizesMB: sizes,
      repetitions: reps,
      link: `${RATE} tbf (burst ${BURST}, latency ${LATENCY}) on the egress of every veth end, both directions of every link`,
      topology:
        'namespaces c (coordinator), a0, a1 (agents), each joined by a veth pair to a bridge in a fourth namespace; addresses 10.77.0.1–3/24 inside them only',
      agents: `ip netns exec <a0|a1> node apps/cli/admove.mjs agent --listen 10.77.0.{2,3}:${AGENT_PORT} --name a0|a1 --secret-file F (1 worker each)`,
      coordinator:
        'ip netns exec <c> node --import tsx bench/lib/netns-coordinator.ts (one process for all jobs)',
      workers: 2,
      rebalance: false,
      emulateSpeeds: false,
      vacate: 'a0, between passes (after one warm-up pass), fresh job per repetition',
      rawSend: `from a0's namespace to a sink in a1's (bench/lib/tcp-sink.ts and tcp-processes.ts openRawTcp/openRawTls, under bench/lib/netns-loopback.ts), one connection per wire for the whole run, ${SETTLE_MS} ms after each job closed, ${WRITE_BYTES} B writes, timed from the first write to the sink's answer`,
      ratio: 'median(ADM migrationMs) ÷ median(raw TCP send ms) of the same bytes',
    };

    const unavailable = await netnsUnavailable();
    if (unavailable !== null) {
      ctx.log(`paper-network: skipped: ${unavailable}`);
      return skipped(unavailable, settings);
    }

    const stale = await removeStaleNamespaces();
    if (stale.length) ctx.log(`paper-network: removed stale namespaces ${stale.join(', ')}`);
    const key = await makeSecretFile();
    // Ctrl-C mid-run exits through the 'exit' hooks (netns-processes.ts): the key goes too.
    const dropKey = () => rmSync(dirname(key.path), { recursive: true, force: true });
    process.once('exit', dropKey);
    const children: Child[] = [];
    const samples: Sample[] = [];
    let topo: Topology | null = null;
    let calibration: CalibrateAnswer['calibration'] | null = null;
    let shape: JobShape | null = null;
    let link: { bytes: number; tcpMs: number; tlsMs: number } | null = null;
    let qdiscAtEnd: QdiscStats[] = [];
    let namespacesLeft: string[] = [];
    try {
      topo = await createTopology({ rate: RATE, burst: BURST, latency: LATENCY, subnet: SUBNET });
      const { ns, address } = topo;
      ctx.log(`paper-network: namespaces ${Object.values(ns).join(', ')}; every link ${RATE}`);
      const started = async <T extends Child>(p: Promise<T>): Promise<T> => {
        const c = await p;
        children.push(c);
        return c;
      };
      // Everything that does not depend on another at once: each loads tsx (seconds on 2 cores).
      // Every start settles before a failure is thrown, so `stopAll` gets every child started.
      const first = [
        started(startNetnsAgent(ns.a0, 'a0', address.a0, AGENT_PORT, key.path)),
        started(startNetnsAgent(ns.a1, 'a1', address.a1, AGENT_PORT, key.path)),
        started(startNetnsSink(ns.a1, address.a1, 'tcp')),
        started(startNetnsSink(ns.a1, address.a1, 'tls', key.path)),
      ] as const;
      await Promise.allSettled(first);
      const [a0, a1, tcpSink, tlsSink] = await Promise.all(first);
      const second = [
        started(startNetnsSender(ns.a0, address.a1, tcpSink.port, 'tcp')),
        started(startNetnsSender(ns.a0, address.a1, tlsSink.port, 'tls', key.path)),
        started(startNetnsCoordinator(ns.c, [a0.endpoint, a1.endpoint], key.path)),
      ] as const;
      await Promise.allSettled(second);
      const [tcpSender, tlsSender, coordinator] = await Promise.all(second);
      // The shaped rate, seen by a raw send a0 → a1 (also warms both raw connections).
      const linkTcpMs = await tcpSender.send(linkCheckBytes);
      const linkTlsMs = await tlsSender.send(linkCheckBytes);
      link = { bytes: linkCheckBytes, tcpMs: linkTcpMs, tlsMs: linkTlsMs };
      ctx.log(
        `paper-network: link check a0 → a1: ${num(linkCheckBytes / 1e6)} MB raw TCP in ${num(linkTcpMs)} ms (${num(linkCheckBytes / linkTcpMs / 1e3)} MB/s), TLS ${num(linkTlsMs)} ms`,
      );
      calibration = (await ask<CalibrateAnswer>(coordinator, { op: 'calibrate' }, 120_000)).calibration;
      ctx.log(`paper-network: soloRate ${num(calibration.soloRate)} exemplars/s (coordinator's namespace)`);

      // Round-robin over the sizes, so a slow spell of the shared machine spreads over all.
      for (let rep = 0; rep < reps; rep++) {
        for (const sizeMB of sizes) {
          const before = await topo.qdiscStats();
          // Load ≈ size at 1.2 MB/s through the coordinator's one link, the move half of it.
          const m = await ask<VacateAnswer>(
            coordinator,
            { op: 'vacate', heldMB: sizeMB / 2 },
            120_000 + sizeMB * 4000,
          );
          const after = await topo.qdiscStats();
          shape = m.shape;
          await sleep(SETTLE_MS);
          // The raw sends carry the bytes a0 held: the data, as the paper's raw TCP column.
          const heldBytes = m.heldExemplars * m.shape.bytesPerExemplar;
          const rawTcpMs = await tcpSender.send(heldBytes);
          const rawTlsMs = await tlsSender.send(heldBytes);
          const sample: Sample = {
            sizeMB,
            rep,
            heldExemplars: m.heldExemplars,
            heldBytes,
            exemplarsMoved: m.exemplarsMoved,
            bytesMoved: m.bytesMoved,
            mismatch:
              m.exemplarsMoved !== m.heldExemplars ||
              Math.abs(m.bytesMoved - heldBytes) > heldBytes * BYTES_SLACK,
            onlyEvacuation: m.redistributions === 1 && m.reason === 'evacuate',
            migrationMs: m.migrationMs,
            obtrusivenessMs: m.obtrusivenessMs,
            deferralMs: m.deferralMs,
            loadMs: m.loadMs,
            coordinatorBytesDuringMove: m.coordinatorBytesDuringMove,
            coordinatorBytesPerPass: m.coordinatorBytesPerPass,
            a0EgressBytes: delta(before, after, 'a0 eth0'),
            toA1Bytes: delta(before, after, 'br p-a1'),
            rawTcpMs,
            rawTlsMs,
            ratioTcp: ratio(m.migrationMs, rawTcpMs),
            ratioTls: ratio(m.migrationMs, rawTlsMs),
          };
          samples.push(sample);
          ctx.log(
            `paper-network: ${sizeMB} MB rep ${rep + 1}: moved ${num(m.bytesMoved / 1e6)} MB a0 → a1 in ${num(m.migrationMs)} ms (load ${num(m.loadMs)} ms; the coordinator received ${num(m.coordinatorBytesDuringMove / 1e6)} MB meanwhile, ${num(m.coordinatorBytesPerPass / 1e6)} MB in a pass without a move), raw TCP ${num(rawTcpMs)} ms, raw TLS ${num(rawTlsMs)} ms: ratio ${num(sample.ratioTcp ?? Number.NaN)}`,
          );
        }
      }
      qdiscAtEnd = await topo.qdiscStats();
    } finally {
      await stopAll(children);
      await key.remove();
      process.off('exit', dropKey);
      await topo?.destroy();
      namespacesLeft = await namespacesOfThisProcess();
    }

    const rows = sizes.map((s) =>
      summarise(
        s,
        samples.filter((x) => x.sizeMB === s),
      ),
    );
    const largest = rows[rows.length - 1];
    const at20 = rows.find((r) => r.sizeMB === 20.8) ?? null;
    const linkMBps = link === null ? null : sig(link.bytes / link.tcpMs / 1e3, 3);
    const linkMax = (RATE_BYTES_PER_S / 1e6) * LINK_TOLERANCE;
    const summary = {
      skipped: null as string | null,
      paperNetworkRatio20MB: q ? null : (at20?.ratioTcp ?? null),
      paperNetworkTlsRatio20MB: q ? null : (at20?.ratioTls ?? null),
      admMs20MB: q ? null : (at20?.admMs ?? null),
      rawTcpMs20MB: q ? null : (at20?.rawTcpMs ?? null),
      // Labelled by what was measured, in either mode (quick: one tiny size).
      ratioLargest: largest.ratioTcp,
      ratioLargestMin: largest.ratioTcpMin,
      ratioLargestMax: largest.ratioTcpMax,
      tlsRatioLargest: largest.ratioTls,
      sizeMBLargest: largest.sizeMB,
      movedMBLargest: largest.movedMB,
      linkMBps,
      linkMbitps: linkMBps === null ? null : sig(linkMBps * 8, 3),
      samplesPerSize: reps,
      target20MB: TARGET_20MB,
      targetMet20MB: q ? null : (at20?.ratioTcp ?? Infinity) <= TARGET_20MB,
      paperRatio20MB: PAPER_RATIO_20MB,
      mpvmRatio20MB: MPVM_RATIO_20MB,
      bytesMismatches: samples.filter((s) => s.mismatch).length,
      allOnlyEvacuation: samples.every((s) => s.onlyEvacuation),
      allCrossedShapedLink: samples.every((s) => s.a0EgressBytes >= s.bytesMoved),
      maxCoordinatorMBDuringMove: sig(
        Math.max(0, ...samples.map((s) => s.coordinatorBytesDuringMove)) / 1e6,
        3,
      ),
      namespacesLeft: namespacesLeft.length,
    };
    const checks = [
      ...rows.map((r) =>
        boundCheck(
          `ADM move ÷ raw TCP @${r.sizeMB}MB`,
          r.ratioTcp,
          'the move took less time than one raw send of the same bytes over the same shaped link: the record found is not the evacuation, or bytesMoved counts bytes that did not move',
        ),
      ),
      conditionCheck(
        `raw send a0 → a1 ≤ ${RATE} (×${LINK_TOLERANCE})`,
        linkMBps !== null && linkMBps <= linkMax,
        `the raw send ran at ${linkMBps} MB/s, above the shaped ${RATE_BYTES_PER_S / 1e6} MB/s: traffic went round the shaping`,
      ),
      conditionCheck(
        'the move crossed a0’s shaped egress',
        summary.allCrossedShapedLink,
        'fewer bytes left through a0’s shaped veth during a job than the move carried: the move went round the shaping',
      ),
      conditionCheck(
        'the move carried what a0 held',
        summary.bytesMismatches === 0,
        `${summary.bytesMismatches} sample(s) moved other than exactly a0's exemplars (or bytesMoved off their bytes by more than ${BYTES_SLACK * 100} %)`,
      ),
      timingCheck(
        'the evacuation was the only redistribution',
        summary.allOnlyEvacuation,
        'another redistribution ran in a job (a rebalance), or the record found is not an evacuation',
      ),
      conditionCheck(
        'namespaces removed',
        namespacesLeft.length === 0,
        `left behind: ${namespacesLeft.join(', ')}`,
      ),
    ];

    const s = (ms: number | null) => (ms === null ? null : sig(ms / 1000, 3));
    const range = (v: number | null, lo: number | null, hi: number | null, f = (x: number) => x) =>
      v === null ? '–' : `${num(f(v))} (${num(f(lo ?? Number.NaN))}–${num(f(hi ?? Number.NaN))})`;
    const md = [
      `The ADM paper's setting, as near as one machine gets: the coordinator and two \`admove agent\` processes (a0, a1; one worker thread each) each in a **network namespace** of its own, joined through a bridge in a fourth, **every link shaped to ${RATE}** (\`tc qdisc add dev X root tbf rate ${RATE} burst ${BURST} latency ${LATENCY}\` on both ends of every veth pair, so each direction of each link is shaped and nothing reaches another namespace except through them). The agents use TLS 1.3 with a pre-shared key (a non-loopback address requires it). A 2-worker ADM job on Opt's kernel (${shape ? `${shape.dim}-${shape.hidden}-${shape.classes}, ${shape.bytesPerExemplar}-byte exemplars` : 'Opt'}), equal speeds, **rebalancing off**, a fresh job per repetition; the training set is the size in the first column (the paper's Table 6), **each worker holding half**; after one warm-up pass a0 is vacated between passes and its half moves **directly to a1**. The ADM time is the evacuation's **migration time** (\`RedistributionRecord.migrationMs\`: the vacate's receipt until a1 computes again). Beside it, right after each job, a **raw send of the same bytes from a0's namespace to a sink in a1's** over the same shaped path (the \`tcp\` benchmark's raw sender and sink), over plain TCP (the paper's baseline) and over the same TLS as the job. Medians of ${reps} repetition${reps === 1 ? '' : 's'}; the ratio is median ADM ÷ median raw TCP (min–max of the per-repetition ratios). The paper's figures (two HP 720s on 10 Mb/s Ethernet) are from its Table 6 (ADMopt) and Table 2 (raw TCP, and MPVM's process migration of the same PVM_opt slave).`,
      '',
      table(
        [
          'training set (MB)',
          'moved (MB)',
          'ADM migration (s, min–max)',
          'raw TCP (s, min–max)',
          'raw TLS (s)',
          'ADM ÷ raw TCP (min–max)',
          'ADM ÷ raw TLS',
          'paper ADM (s)',
          'paper raw TCP (s)',
          'paper ADM ÷ raw',
          'paper MPVM obtrusiveness (s)',
          'paper MPVM ÷ raw',
          'initial load (s)',
          'via coordinator (MB)',
        ],
        rows.map((r) => [
          r.sizeMB,
          r.movedMB,
          range(r.admMs, r.admMinMs, r.admMaxMs, (x) => x / 1000),
          range(r.rawTcpMs, r.rawTcpMinMs, r.rawTcpMaxMs, (x) => x / 1000),
          s(r.rawTlsMs),
          range(r.ratioTcp, r.ratioTcpMin, r.ratioTcpMax),
          r.ratioTls,
          r.paper?.admS ?? null,
          r.paper?.rawTcpS ?? null,
          r.paperRatio,
          r.paper?.mpvmObtrusiveS ?? null,
          r.paper?.mpvmRatio ?? null,
          s(r.loadMs),
          r.coordinatorMBDuringMove,
        ]),
      ),
      '',
      table(
        ['target', 'value', ''],
        [
          [
            `ADM move ÷ raw TCP ≤ ${TARGET_20MB} at 20.8 MB (paper ${PAPER_RATIO_20MB}, MPVM ${MPVM_RATIO_20MB})`,
            summary.paperNetworkRatio20MB,
            verdict(summary.paperNetworkRatio20MB, TARGET_20MB),
          ],
          ['ADM move over TLS ÷ raw TLS at 20.8 MB', summary.paperNetworkTlsRatio20MB, '–'],
        ],
      ),
      '### Notes',
      '',
      link === null
        ? '- The link was not measured.'
        : `- **The link**: a raw TCP send of ${num(link.bytes / 1e6)} MB a0 → a1 before the jobs took ${num(link.tcpMs)} ms: **${num(link.bytes / link.tcpMs / 1e3)} MB/s (${num((link.bytes / link.tcpMs / 1e3) * 8)} Mbit/s of payload)**, against ${RATE_BYTES_PER_S / 1e6} MB/s on the wire (Ethernet, IP and TCP headers take the rest). The paper's raw TCP moved ${PAPER[5].sizeMB / 2} MB in ${PAPER[5].rawTcpS} s: ${num(PAPER[5].sizeMB / 2 / PAPER[5].rawTcpS)} MB/s on its shared Ethernet.`,
      `- **Nothing went round the shaping**: the addresses exist only in the namespaces; each job's bytes through a0's shaped veth were at least the bytes moved in every repetition (${summary.allCrossedShapedLink ? 'checked' : '**not so**'}; \`samples.moves[].a0EgressBytes\`), and the tbf counters of every link at the end are in \`samples.qdiscAtEnd\`. The move went directly a0 → a1: from the vacate until the pass with the move ended, the coordinator received at most ${summary.maxCoordinatorMBDuringMove} MB from the agents at any size (the workers' pass results; column *via coordinator*), where a move relayed through it would bring all the bytes moved.`,
      '- Only the move is timed: the initial load (coordinator → both agents through the coordinator’s one 10 Mbit/s link, column *initial load*) is not, as in the paper.',
      "- The paper's ADM time runs from the slave's receipt of the event until the master's message that every slave has finished redistributing, on PVM over UDP/TCP; here, from the coordinator's receipt of the vacate until a1 computes again. Its raw TCP column is the lower bound it set both methods against; so is ours, measured in the same run over the same path.",
      '- The raw sends use one connection per wire, opened once (untimed) and warmed by the link check; after ≥ 0.5 s idle, Linux restarts its congestion window anyway. The move opens a fresh TLS connection a0 → a1 per job, and that handshake is in its time.',
      '- The machine has 2 cores shared by the coordinator, both agents (each a main thread and a worker thread), the raw sender and sink, and whatever else runs: the load at the start and the end is in the header. At 1.2 MB/s the link, not the CPU, should be the limit.',
    ].join('\n');
    const chart = resultChart(rows, reps);
    return {
      settings: { ...settings, calibration, jobShape: shape, linkCheck: link, staleNamespacesRemoved: stale },
      samples: { moves: samples, qdiscAtEnd },
      checks,
      summary,
      markdown: md,
      chart,
    };
  },
};

async function ask<T>(c: NetnsChild, request: object, timeoutMs: number): Promise<T> {
  const line = await c.request(JSON.stringify(request), timeoutMs);
  let answer: { ok: boolean; error?: string };
  try {
    answer = JSON.parse(line);
  } catch {
    throw new Error(`${c.what}: not JSON: ${line.slice(0, 200)}`);
  }
  if (!answer.ok) throw new Error(`${c.what}: ${answer.error}`);
  return answer as T;
}

function delta(before: readonly QdiscStats[], after: readonly QdiscStats[], link: string): number {
  const b = before.find((x) => x.link === link)?.bytes ?? 0;
  const a = after.find((x) => x.link === link)?.bytes ?? 0;
  return a - b;
}

function finiteMedian(values: readonly (number | null)[]): number | null {
  const v = values.filter((x): x is number => x !== null && Number.isFinite(x));
  return v.length ? median(v) : null;
}

function summarise(sizeMB: number, s: readonly Sample[]): Row {
  const adm = spread(s.map((x) => x.migrationMs));
  const tcp = spread(s.map((x) => x.rawTcpMs));
  const tls = spread(s.map((x) => x.rawTlsMs));
  const ratios = spread(s.map((x) => x.ratioTcp ?? Number.NaN));
  const paper = PAPER.find((p) => p.sizeMB === sizeMB) ?? null;
  const admMs = adm.n ? adm.median : null;
  return {
    sizeMB,
    n: s.length,
    movedMB: sig(median(s.map((x) => x.bytesMoved)) / 1e6, 4)!,
    admMs: sig(admMs),
    admMinMs: adm.n ? sig(adm.min) : null,
    admMaxMs: adm.n ? sig(adm.max) : null,
    obtrusivenessMs: sig(finiteMedian(s.map((x) => x.obtrusivenessMs))),
    rawTcpMs: tcp.n ? sig(tcp.median) : null,
    rawTcpMinMs: tcp.n ? sig(tcp.min) : null,
    rawTcpMaxMs: tcp.n ? sig(tcp.max) : null,
    rawTlsMs: tls.n ? sig(tls.median) : null,
    ratioTcp: sig(ratio(admMs, tcp.n ? tcp.median : null), 3),
    ratioTcpMin: ratios.n ? sig(ratios.min, 3) : null,
    ratioTcpMax: ratios.n ? sig(ratios.max, 3) : null,
    ratioTls: sig(ratio(admMs, tls.n ? tls.median : null), 3),
    loadMs: sig(finiteMedian(s.map((x) => x.loadMs))),
    coordinatorMBDuringMove: sig(finiteMedian(s.map((x) => x.coordinatorBytesDuringMove / 1e6)), 3),
    paper,
    paperRatio: paper ? sig(paper.admS / paper.rawTcpS, 3) : null,
  };
}

function resultChart(rows: readonly Row[], reps: number, skippedReason?: string): string {
  const sec = (ms: number | null) => (ms === null ? null : sig(ms / 1000, 3));
  return barChart({
    title: 'Vacate a0 → a1 over 10 Mbit/s links vs raw TCP, beside the ADM paper',
    subtitle:
      skippedReason === undefined
        ? `network namespaces · tbf ${RATE} on every link · half of the set moves · medians of ${reps}`
        : `skipped here (${skippedReason}): the paper's figures only`,
    categories: rows.map((r) => `${r.sizeMB} MB set`),
    x: { label: 'training set (each worker holds half; the vacated half moves)' },
    y: { label: 'time', unit: 's' },
    series: [
      { name: 'ADM migration (admove)', values: rows.map((r) => sec(r.admMs)), colour: '#0072B2' },
      { name: 'raw TCP (same link)', values: rows.map((r) => sec(r.rawTcpMs)), colour: '#009E73' },
      { name: 'paper: ADM migration', values: rows.map((r) => r.paper?.admS ?? null), colour: '#56B4E9' },
      { name: 'paper: raw TCP', values: rows.map((r) => r.paper?.rawTcpS ?? null), colour: '#8FD9B6' },
    ],
    emptyNote: 'not measured',
  });
}

/** The result of a machine that cannot make namespaces: the paper's columns, nothing measured. */
function skipped(reason: string, settings: Record<string, unknown>): BenchOutput {
  const rows: Row[] = PAPER.map((p) => ({
    sizeMB: p.sizeMB,
    n: 0,
    movedMB: p.sizeMB / 2,
    admMs: null,
    admMinMs: null,
    admMaxMs: null,
    obtrusivenessMs: null,
    rawTcpMs: null,
    rawTcpMinMs: null,
    rawTcpMaxMs: null,
    rawTlsMs: null,
    ratioTcp: null,
    ratioTcpMin: null,
    ratioTcpMax: null,
    ratioTls: null,
    loadMs: null,
    coordinatorMBDuringMove: null,
    paper: p,
    paperRatio: sig(p.admS / p.rawTcpS, 3),
  }));
  return {
    settings: { ...settings, skipped: reason },
    samples: { moves: [] },
    checks: [],
    summary: {
      skipped: reason,
      paperNetworkRatio20MB: null,
      paperNetworkTlsRatio20MB: null,
      ratioLargest: null,
      tlsRatioLargest: null,
      movedMBLargest: null,
      linkMBps: null,
      target20MB: TARGET_20MB,
      targetMet20MB: null,
      paperRatio20MB: PAPER_RATIO_20MB,
      mpvmRatio20MB: MPVM_RATIO_20MB,
    },
    markdown: [
      `**Skipped: ${reason}.** This benchmark makes network namespaces and shapes their links (\`ip netns\`, \`tc\`): it needs root and iproute2. The paper's figures, for when it runs:`,
      '',
      table(
        ['training set (MB)', 'paper ADM (s)', 'paper raw TCP (s)', 'paper ADM ÷ raw', 'paper MPVM ÷ raw'],
        PAPER.map((p) => [p.sizeMB, p.admS, p.rawTcpS, sig(p.admS / p.rawTcpS, 3), p.mpvmRatio]),
      ),
    ].join('\n'),
    chart: resultChart(rows, 0, reason),
  };
}
