/**
 * One fresh ADM job on agents, for the network benchmarks (`tcp`, `paper-network`): a
 * warm-up pass, a vacate of the first host between passes, and the pass that applies it.
 * The evacuation's record is found by the vacate's seq; rebalancing on measured speeds is
 * off, so the vacate's is the only move. An agent still ending the previous job refuses as
 * busy for a moment: the start is retried until `busyRetryMs` has passed.
 */
import type { NetworkShape } from '../../apps/opt/model/index.ts';
import {
  agentTransport,
  type DataParallelJob,
  type ExemplarColumns,
  type RedistributionRecord,
  type RemoteHost,
  startJob,
} from '../../framework/index.ts';
import { OPT_KERNEL } from './opt-job.ts';
import { sleep } from './timing.ts';

export interface AgentVacateOptions {
  readonly remote: readonly RemoteHost[];
  readonly secret?: Buffer;
  readonly train: ExemplarColumns;
  readonly shape: NetworkShape;
  readonly weights: Float64Array;
  /** A shared calibration (no probe at start), or undefined to calibrate. */
  readonly soloRate?: number;
  readonly livenessMs: number;
  readonly waitTimeoutMs: number;
  readonly busyRetryMs: number;
  /** Runs after the warm-up pass, right before the vacate is sent (not timed). */
  readonly beforeVacate?: () => void;
  /**
   * Runs when the vacate's data has moved (the job's `onRedistribution` for the vacate's
   * record: every receiver has answered, the pass has not resumed yet), inside the migration
   * time: keep it short.
   */
  readonly onMoved?: (record: RedistributionRecord) => void;
}

export interface AgentVacate {
  readonly record: RedistributionRecord & { readonly migrationMs: number };
  readonly heldExemplars: number;
  readonly redistributions: number;
  /** startJob until it returned: the initial load coordinator → agents. */
  readonly loadMs: number;
  /** Bytes the coordinator received over the warm-up pass (which moved nothing). */
  readonly coordinatorBytesPerPass: number;
  /** Bytes the coordinator received from the vacate until the pass after it ended. */
  readonly coordinatorBytesDuringMove: number;
}

export async function vacateOnAgents(o: AgentVacateOptions): Promise<AgentVacate> {
  const vacated = o.remote[0].name;
  const t0 = performance.now();
  const deadline = t0 + o.busyRetryMs;
  for (;;) {
    const transport = agentTransport(o.remote, { secret: o.secret });
    let job: DataParallelJob | null = null;
    // Known once the vacate is sent; any other redistribution is not the one onMoved is for.
    let vacateSeq: number | null = null;
    try {
      const loadStart = performance.now();
      try {
        job = await startJob('adm', {
          kernelModule: OPT_KERNEL,
          kernelConfig: o.shape,
          train: o.train,
          hosts: o.remote.map((h) => ({ name: h.name, speed: h.speed })),
          emulateSpeeds: false,
          calibrationParams: o.weights,
          soloRate: o.soloRate,
          clock: () => performance.now() - t0,
          transport,
          rebalance: false,
          waitTimeoutMs: o.waitTimeoutMs,
          livenessMs: o.livenessMs,
          onRedistribution: (r) => {
            if (vacateSeq !== null && r.events.includes(vacateSeq)) o.onMoved?.(r);
          },
        });
      } catch (error) {
        if (/busy with job/.test(String((error as Error).message)) && performance.now() < deadline) {
          await sleep(100);
          continue;
        }
        throw error;
      }
      const loadMs = performance.now() - loadStart;
      const beforeWarmUp = transport.bytesReceived();
      await job.pass(o.weights); // warm-up
      const heldExemplars = job.counts()[0];
      const before = transport.bytesReceived();
      o.beforeVacate?.();
      const vacate = job.send({ type: 'vacate', host: vacated });
      vacateSeq = vacate.seq;
      await job.pass(o.weights);
      const all = job.redistributions();
      const record = all.find((r) => r.events.includes(vacate.seq));
      if (record?.migrationMs == null)
        throw new Error(`vacating ${vacated} (event ${vacate.seq}) moved no data`);
      return {
        record: { ...record, migrationMs: record.migrationMs },
        heldExemplars,
        redistributions: all.length,
        loadMs,
        coordinatorBytesPerPass: before - beforeWarmUp,
        coordinatorBytesDuringMove: transport.bytesReceived() - before,
      };
    } finally {
      await job?.close();
      transport.close();
    }
  }
}
