/**
 * The coordinator of `paper-network`, run in its own network namespace:
 *
 *   ip netns exec NS node --import tsx bench/lib/netns-coordinator.ts AGENTS_JSON SECRET_FILE
 *
 * AGENTS_JSON is `[{"host":"10.77.0.2","port":7000}, …]` (a0 first: a0 is the one vacated).
 * It finds the agents (`discoverAgents`, TLS with the pre-shared key), prints `ready`, then
 * answers each JSON line on stdin with one JSON line on stdout:
 *
 * - `{"op":"calibrate"}` → the kernel's single-worker rate here (`measureSoloRate`), passed
 *   as `soloRate` to every job after it (so no job calibrates on the agents).
 * - `{"op":"vacate","heldMB":M}` → a fresh 2-worker ADM job on the agents whose training set
 *   is 2N exemplars, N = ⌈M MB ÷ bytes per exemplar⌉ (so each agent holds at least M MB); one warm-up pass; `vacate a0` between passes; the pass that
 *   applies it. Answers with the evacuation's `RedistributionRecord` figures, what a0 held,
 *   how long the initial load took, and the bytes the coordinator received from the agents
 *   during the move (a direct move a0 → a1 passes none of its rows through here).
 *
 * Errors are answered as `{"ok":false,"error":…}`. It exits when stdin closes.
 */
import { createInterface } from 'node:readline';
import { initWeights, type NetworkShape } from '../../apps/opt/model/index.ts';
import { syntheticDataset } from '../../framework/datasets/index.ts';
import {
  columnsFromTable,
  discoverAgents,
  type ExemplarColumns,
  SeededRandom,
} from '../../framework/index.ts';
import { readSecretFile } from '../../framework/net/secure-socket.ts';
import { vacateOnAgents } from './agent-vacate.ts';
import { bytesPerExemplar, measureSoloRate, type SharedCalibration } from './opt-job.ts';

/** Opt's network on MNIST-sized exemplars, as in `tcp` and `redistribution`. */
const DIM = 784;
const HIDDEN = 32;
const CLASSES = 10;
/** An agent still ending the previous job refuses the next one for a moment: retry this long. */
const BUSY_RETRY_MS = 15_000;
/**
 * A shaped link is slow: the initial load of 10 MB per agent takes ~9 s per agent, and a
 * heartbeat may queue behind it. No false "hung" worker.
 */
const LIVENESS_MS = 60_000;

/** The network and exemplars every job here runs (for the benchmark's settings). */
export interface JobShape {
  readonly dim: number;
  readonly hidden: number;
  readonly classes: number;
  readonly bytesPerExemplar: number;
}

export interface VacateAnswer {
  readonly ok: true;
  readonly shape: JobShape;
  readonly perHost: number;
  readonly heldExemplars: number;
  readonly redistributions: number;
  readonly reason: string;
  readonly exemplarsMoved: number;
  readonly bytesMoved: number;
  readonly transfers: number;
  readonly migrationMs: number;
  readonly obtrusivenessMs: number | null;
  readonly deferralMs: number;
  /** startJob until it returned: the initial load coordinator → agents over the shaped links. */
  readonly loadMs: number;
  /** Bytes the coordinator received from the agents from the vacate until the pass after it ended. */
  readonly coordinatorBytesDuringMove: number;
  /** The same over the warm-up pass, which moved nothing (the workers' results). */
  readonly coordinatorBytesPerPass: number;
  readonly countsAfter: readonly number[];
}

export interface CalibrateAnswer {
  readonly ok: true;
  readonly calibration: SharedCalibration;
}

const shape: NetworkShape = { inputs: DIM, hidden: HIDDEN, outputs: CLASSES, loss: 'xent' };
const weights = initWeights(shape, new SeededRandom(7));

function dataset(perHost: number) {
  return syntheticDataset({ count: 2 * perHost, dim: DIM, classes: CLASSES, seed: 11, testFraction: 0 });
}

async function main(): Promise<void> {
  const [agentsJson, secretFile] = process.argv.slice(2);
  const endpoints = JSON.parse(agentsJson) as { host: string; port: number }[];
  const access = { secret: await readSecretFile(secretFile) };
  const remote = await discoverAgents(
    endpoints.map((endpoint) => ({ endpoint })),
    access,
  );
  let soloRate: number | undefined;
  let cached: { perHost: number; train: ExemplarColumns } | null = null;

  const vacate = async (heldMB: number): Promise<VacateAnswer> => {
    const perHost = Math.ceil((heldMB * 1e6) / bytesPerExemplar(DIM));
    if (cached?.perHost !== perHost) {
      cached = null; // let the previous set go before making the next
      const data = dataset(perHost);
      cached = { perHost, train: columnsFromTable(data.train.features, data.train.labels, DIM) };
    }
    const m = await vacateOnAgents({
      remote,
      secret: access.secret,
      train: cached.train,
      shape,
      weights,
      soloRate,
      livenessMs: LIVENESS_MS,
      waitTimeoutMs: 120_000,
      busyRetryMs: BUSY_RETRY_MS,
    });
    const r = m.record;
    return {
      ok: true,
      shape: { dim: DIM, hidden: HIDDEN, classes: CLASSES, bytesPerExemplar: bytesPerExemplar(DIM) },
      perHost,
      heldExemplars: m.heldExemplars,
      redistributions: m.redistributions,
      reason: r.reason,
      exemplarsMoved: r.exemplarsMoved,
      bytesMoved: r.bytesMoved,
      transfers: r.transfers,
      migrationMs: r.migrationMs,
      obtrusivenessMs: r.obtrusivenessMs,
      deferralMs: r.startedAt - r.triggeredAt,
      loadMs: m.loadMs,
      coordinatorBytesDuringMove: m.coordinatorBytesDuringMove,
      coordinatorBytesPerPass: m.coordinatorBytesPerPass,
      countsAfter: r.countsAfter,
    };
  };

  const calibrate = async (): Promise<CalibrateAnswer> => {
    const data = syntheticDataset({ count: 4096, dim: DIM, classes: CLASSES, seed: 5, testFraction: 0 });
    const calibration = await measureSoloRate({ train: data.train, classes: CLASSES, hidden: HIDDEN });
    soloRate = calibration.soloRate;
    return { ok: true, calibration };
  };

  process.stdout.write('ready\n');
  for await (const line of createInterface({ input: process.stdin })) {
    if (!line.trim()) continue;
    let answer: unknown;
    try {
      const req = JSON.parse(line) as { op: string; heldMB?: number };
      if (req.op === 'calibrate') answer = await calibrate();
      else if (req.op === 'vacate' && typeof req.heldMB === 'number' && req.heldMB > 0)
        answer = await vacate(req.heldMB);
      else throw new Error(`unknown request ${line}`);
    } catch (error) {
      answer = { ok: false, error: (error as Error).stack ?? String(error) };
    }
    process.stdout.write(`${JSON.stringify(answer)}\n`);
  }
}

await main();
