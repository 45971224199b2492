import { RunFailure } from '../errors.ts';
import type { WorkerFault } from './faults.ts';

/** The app's kernel threw the same error on two hosts: a bug in the kernel, not in a host. */
export class KernelFailed extends RunFailure {
  constructor(kernelModule: string, error: string, hosts: readonly string[]) {
    super(
      `the kernel ${kernelModule} threw on ${hosts.join(' and ')}: ${error} (a bug in the app's kernel; the job stopped)`,
    );
  }
}

/**
 * The policy for a kernel that throws. Once, it may be the host (memory, a broken build):
 * that worker is given up on and its exemplars reloaded elsewhere. The same error from a
 * second host means the kernel fails on this data wherever it runs; recovering again would
 * only pass the failure from worker to worker until none is left, so the job stops, once.
 */
export class KernelFailures {
  private readonly hostsBy = new Map<string, Set<string>>();

  constructor(private readonly kernelModule: string) {}

  /** Note the kernel errors among `faults`; throws KernelFailed when one is seen on two hosts. */
  record(faults: readonly WorkerFault[]): void {
    for (const f of faults) {
      if (f.kernelError === null) continue;
      const hosts = this.hostsBy.get(f.kernelError) ?? new Set<string>();
      hosts.add(f.host);
      this.hostsBy.set(f.kernelError, hosts);
      if (hosts.size >= 2) throw new KernelFailed(this.kernelModule, f.kernelError, [...hosts]);
    }
  }
}
