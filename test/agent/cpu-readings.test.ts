/**
 * The pure parts of the load watcher: /proc/stat and affinity parsing, the share other
 * processes take between two samples, where PSI is read, the reading on the wire, and the
 * coordinator turning readings into `load` events.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  cgroup2Mounts,
  cgroupV2Path,
  MACHINE_PRESSURE_FILE,
  parseSomeAvg10,
  pressureFileCandidates,
} from '../../framework/agent/cpu-pressure.ts';
import {
  allowedCores,
  type CoreTicks,
  type CpuSample,
  fractionLeft,
  MIN_FRACTION_LEFT,
  othersShare,
  parseCpuList,
  parseProcStat,
} from '../../framework/agent/cpu-share.ts';
import type { EventRecord, SchedulerEvent } from '../../framework/events/types.ts';
import { LoadRelay } from '../../framework/net/load-relay.ts';
import { asLoadReading, type LoadReading } from '../../framework/net/protocol.ts';
import type { DataParallelJob } from '../../framework/runtime/job-types.ts';

const STAT = `cpu  1949969 56736 569021 960891 1949 0 11777 0 0 0
cpu0 972957 29825 284303 482037 300 0 5762 0 0 0
cpu1 977011 26910 284718 478854 1649 0 6015 0 0 0
intr 18300590 0 0
ctxt 51740738
`;

function sample(
  ticks: Record<number, CoreTicks>,
  cores: number[],
  ownCpuMs: number,
  wallMs: number,
): CpuSample {
  return { ticks: new Map(Object.entries(ticks).map(([c, t]) => [Number(c), t])), cores, ownCpuMs, wallMs };
}

describe('cpu share', () => {
  it('parses CPU lists and the affinity line', () => {
    expect(parseCpuList('0-1')).toEqual([0, 1]);
    expect(parseCpuList('0-3,8,10-11')).toEqual([0, 1, 2, 3, 8, 10, 11]);
    expect(parseCpuList('3,1,1')).toEqual([1, 3]);
    expect(parseCpuList('')).toBeNull();
    expect(parseCpuList('2-1')).toBeNull();
    expect(parseCpuList('a')).toBeNull();
    expect(
      allowedCores('Name:\tnode\nCpus_allowed:\t3\nCpus_allowed_list:\t0-1\nMems_allowed:\t1\n'),
    ).toEqual([0, 1]);
    expect(allowedCores('Name:\tnode\n')).toBeNull();
  });

  it('reads the per-core lines of /proc/stat: busy without idle and iowait, guest not counted twice', () => {
    const ticks = parseProcStat(STAT);
    expect([...ticks.keys()]).toEqual([0, 1]);
    expect(ticks.get(0)).toEqual({
      busy: 972957 + 29825 + 284303 + 5762,
      total: 972957 + 29825 + 284303 + 5762 + 482037 + 300,
    });
    // guest (9th field) is inside user already; steal (8th) is busy.
    expect(parseProcStat('cpu3 10 0 0 50 0 0 0 5 7 0\n').get(3)).toEqual({ busy: 15, total: 65 });
  });

  it('a hog taking one core of two: other processes take 0.5', () => {
    const before = sample({ 0: { busy: 0, total: 0 }, 1: { busy: 0, total: 0 } }, [0, 1], 0, 0);
    const after = sample({ 0: { busy: 100, total: 100 }, 1: { busy: 0, total: 100 } }, [0, 1], 0, 1000);
    expect(othersShare(before, after)).toEqual({ share: 0.5, cores: [0, 1] });
    expect(fractionLeft(0.5)).toBe(0.5);
  });

  it("subtracts the agent's own CPU time: its own work is no load", () => {
    // Core 0 fully busy for 1 s, all of it the agent's threads (1000 ms of CPU on one core).
    const before = sample({ 0: { busy: 0, total: 0 } }, [0], 5000, 0);
    const after = sample({ 0: { busy: 100, total: 100 } }, [0], 6000, 1000);
    expect(othersShare(before, after)?.share).toBe(0);
    expect(fractionLeft(0)).toBe(1);
  });

  it('counts only the cores the agent may use', () => {
    const before = sample({ 0: { busy: 0, total: 0 }, 1: { busy: 0, total: 0 } }, [0], 0, 0);
    const after = sample({ 0: { busy: 25, total: 100 }, 1: { busy: 100, total: 100 } }, [0], 0, 1000);
    expect(othersShare(before, after)).toEqual({ share: 0.25, cores: [0] });
  });

  it('stays in [0, 1], and the fraction left in [MIN_FRACTION_LEFT, 1]', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(10_000), fc.nat(10_000), fc.nat(10_000)), { minLength: 1, maxLength: 8 }),
        fc.double({ min: 0, max: 1e5, noNaN: true }),
        fc.double({ min: 1, max: 1e5, noNaN: true }),
        (cores, own, wall) => {
          const before = sample(
            Object.fromEntries(cores.map((_, c) => [c, { busy: 0, total: 0 }])),
            cores.map((_, c) => c),
            0,
            0,
          );
          const after = sample(
            Object.fromEntries(cores.map(([busy, idle], c) => [c, { busy, total: busy + idle }])),
            cores.map((_, c) => c),
            own,
            wall,
          );
          const r = othersShare(before, after);
          if (r === null) return;
          expect(r.share).toBeGreaterThanOrEqual(0);
          expect(r.share).toBeLessThanOrEqual(1);
          const f = fractionLeft(r.share);
          expect(f).toBeGreaterThanOrEqual(MIN_FRACTION_LEFT);
          expect(f).toBeLessThanOrEqual(1);
        },
      ),
    );
  });

  it('has no share when no time passed, or no allowed core is in both samples', () => {
    const t = { 0: { busy: 5, total: 10 } };
    expect(othersShare(sample(t, [0], 0, 0), sample(t, [0], 0, 100))).toBeNull();
    expect(othersShare(sample(t, [0], 0, 0), sample({ 1: { busy: 9, total: 20 } }, [1], 0, 100))).toBeNull();
  });
});

describe('cpu pressure', () => {
  it('reads some avg10', () => {
    expect(
      parseSomeAvg10(
        'some avg10=85.82 avg60=67.17 avg300=42.67 total=9064742118\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n',
      ),
    ).toBe(85.82);
    expect(parseSomeAvg10('')).toBeNull();
  });

  it("finds the agent's own cgroup v2 cpu.pressure on a hybrid and a unified host, then the machine's", () => {
    const hybrid = [
      '30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755',
      '31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu',
      '40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
    ].join('\n');
    const v1Lines = '4:memory:/process_api/x\n1:cpu:/\n';
    expect(cgroupV2Path(`${v1Lines}0::/\n`)).toBe('/');
    expect(cgroup2Mounts(hybrid)).toEqual([{ root: '/', mountPoint: '/sys/fs/cgroup/unified' }]);
    expect(pressureFileCandidates(`${v1Lines}0::/\n`, hybrid)).toEqual([
      '/sys/fs/cgroup/unified/cpu.pressure',
      MACHINE_PRESSURE_FILE,
    ]);
    const unified = '25 1 0:22 / /sys/fs/cgroup rw,nosuid shared:9 - cgroup2 cgroup2 rw,nsdelegate';
    expect(pressureFileCandidates('0::/user.slice/user-1000.slice/session-2.scope\n', unified)).toEqual([
      '/sys/fs/cgroup/user.slice/user-1000.slice/session-2.scope/cpu.pressure',
      MACHINE_PRESSURE_FILE,
    ]);
    // A container's mount shows only its own subtree (root /docker/abc): the path inside it.
    const container = '900 800 0:30 /docker/abc /sys/fs/cgroup ro - cgroup2 cgroup2 rw';
    expect(pressureFileCandidates('0::/docker/abc/app\n', container)[0]).toBe(
      '/sys/fs/cgroup/app/cpu.pressure',
    );
    expect(pressureFileCandidates('0::/elsewhere\n', container)).toEqual([MACHINE_PRESSURE_FILE]);
    // cgroup v1 only: the machine's file.
    expect(pressureFileCandidates(v1Lines, hybrid)).toEqual([MACHINE_PRESSURE_FILE]);
    // Mount points with escaped spaces.
    expect(cgroup2Mounts('1 1 0:1 / /mnt/my\\040cg rw - cgroup2 none rw')[0].mountPoint).toBe('/mnt/my cg');
  });
});

const READING: LoadReading = {
  type: 'load-reading',
  fraction: 0.4,
  othersShare: 0.6,
  cores: [0],
  pressure: { someAvg10: 12.5, source: MACHINE_PRESSURE_FILE },
  samples: 5,
  heldMs: 2000,
};

describe('load readings on the wire', () => {
  it('accepts a well-formed reading and refuses malformed ones', () => {
    expect(asLoadReading({ ...READING, bodies: 0 })).toEqual(READING);
    expect(asLoadReading({ ...READING, pressure: null })).toEqual({ ...READING, pressure: null });
    for (const bad of [
      { fraction: 0 },
      { fraction: 1.5 },
      { fraction: '0.5' },
      { othersShare: -0.1 },
      { cores: [0.5] },
      { samples: 0 },
      { heldMs: Number.NaN },
      { pressure: { someAvg10: '1' } },
      { type: 'beat' },
    ]) {
      expect(asLoadReading({ ...READING, ...bad }), JSON.stringify(bad)).toBeNull();
    }
  });
});

/** Just enough of a job to take events. */
function fakeJob(hosts: string[]): DataParallelJob & { sent: SchedulerEvent[] } {
  const sent: SchedulerEvent[] = [];
  const job = {
    sent,
    send(event: SchedulerEvent): EventRecord {
      sent.push(event);
      return { seq: sent.length - 1, event, receivedAt: 10 * sent.length, outcome: undefined };
    },
    hosts: hosts.map((name) => ({ name, speed: 1 })),
  };
  return job as unknown as DataParallelJob & { sent: SchedulerEvent[] };
}

describe('LoadRelay', () => {
  it("sends one load event per host of the agent, and records the reading with the events' seqs", () => {
    const seen: EventRecord[] = [];
    const relay = new LoadRelay((r) => seen.push(r));
    const job = fakeJob(['big.0', 'big.1', 'small']);
    // Before the job runs: kept, and only the latest is sent once it does.
    relay.take({ ...READING, fraction: 0.9, agent: 'big', hosts: ['big.0', 'big.1'] });
    relay.take({ ...READING, agent: 'big', hosts: ['big.0', 'big.1'] });
    expect(relay.records()).toEqual([]);
    relay.attach(job);
    expect(job.sent).toEqual([
      { type: 'load', host: 'big.0', fraction: 0.4 },
      { type: 'load', host: 'big.1', fraction: 0.4 },
    ]);
    relay.take({ ...READING, fraction: 0.95, othersShare: 0.05, agent: 'small', hosts: ['small'] });
    expect(seen.map((r) => r.seq)).toEqual([0, 1, 2]);
    expect(relay.records()).toEqual([
      {
        agent: 'big',
        receivedAt: 10,
        othersShare: 0.6,
        fraction: 0.4,
        cores: [0],
        pressure: READING.pressure,
        samples: 5,
        heldMs: 2000,
        events: [
          { host: 'big.0', seq: 0 },
          { host: 'big.1', seq: 1 },
        ],
      },
      expect.objectContaining({ agent: 'small', fraction: 0.95, events: [{ host: 'small', seq: 2 }] }),
    ]);
  });
});
