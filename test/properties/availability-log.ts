/**
 * What the scheduler has told the job about each host's availability, by "epoch": the driver
 * bumps the epoch before every event it sends, so a plan made during epoch e knew every event
 * sent at an epoch ≤ e. A host counts as vacated at epoch e when the last valid vacate/available
 * sent for it up to e is a vacate (applied or still pending: either way it must get no data).
 */
export class AvailabilityLog {
  private readonly log = new Map<string, { epoch: number; vacated: boolean }[]>();

  record(host: string, epoch: number, vacated: boolean): void {
    const list = this.log.get(host) ?? [];
    list.push({ epoch, vacated });
    this.log.set(host, list);
  }

  vacatedAt(host: string, epoch = Number.POSITIVE_INFINITY): boolean {
    const list = this.log.get(host) ?? [];
    let vacated = false;
    for (const e of list) if (e.epoch <= epoch) vacated = e.vacated;
    return vacated;
  }
}
