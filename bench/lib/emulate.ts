/**
 * Emulated host speeds that differ from the declared ratings, so that an ADM job has to
 * learn the real speeds from measured throughput (the balance benchmark).
 *
 * The framework has no public hook for this yet: JobOptions ties the throttle to
 * `hosts[i].speed`. Until it does (a `trueSpeeds` / `emulatedSpeeds` option was asked for),
 * this reaches the job's worker setup — its shared-memory rate limits and its calibrated
 * single-thread rate — and fails loudly if that shape has changed.
 */
import type { DataParallelJob } from '../../framework/index.ts';
import { unitRate } from '../../framework/runtime/calibration.ts';
import type { WorkerControl } from '../../framework/runtime/control.ts';

interface SetupShape {
  readonly control: WorkerControl;
  readonly soloRate: number;
}

function setupOf(job: DataParallelJob): SetupShape {
  const setup = (job as unknown as { setup?: Partial<SetupShape> }).setup;
  if (!setup || typeof setup.soloRate !== 'number' || typeof setup.control?.setRateLimit !== 'function') {
    throw new Error(
      'bench/lib/emulate: the job no longer exposes setup.control / setup.soloRate; update this shim',
    );
  }
  return setup as SetupShape;
}

/** Throttle worker i to `speeds[i]` × the unit rate those speeds give on this machine. Returns rates (exemplars/s). */
export function emulateSpeeds(job: DataParallelJob, speeds: readonly number[]): number[] {
  const setup = setupOf(job);
  const unit = unitRate(setup.soloRate, speeds);
  return speeds.map((s, i) => {
    setup.control.setRateLimit(i, s * unit);
    return s * unit;
  });
}

/** The kernel's unthrottled single-thread rate the job calibrated, exemplars/s. */
export function soloRate(job: DataParallelJob): number {
  return setupOf(job).soloRate;
}
