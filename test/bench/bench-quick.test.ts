/**
 * The benchmarks' quick mode, run as `npm run bench -- --quick` would: every benchmark at a
 * tiny size, into a temporary folder. Asserts the files and the summary fields issue 4
 * names — never a timing (a 2-core machine running other work proves nothing about speed).
 */
import { existsSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliResult, REPO, runNode } from '../cli/run-cli.ts';

function bench(args: readonly string[], timeoutMs: number) {
  return runNode(['--import', 'tsx', 'bench/run.ts', ...args], timeoutMs);
}

/** The headline figures each benchmark's summary must carry (null where quick mode cannot measure them). */
const REQUIRED: Record<
  string,
  { always: string[]; maybeNull?: string[]; linux?: string[]; skippable?: boolean }
> = {
  quiet: { always: ['overheadRatio', 'overheadRatioMin', 'overheadRatioMax', 'passOverheadMs', 'passShare'] },
  redistribution: {
    always: ['threadRatio20MB', 'threadRatio20MBMin', 'threadRatio20MBMax', 'soloRate'],
    maybeNull: ['threadRatio100MB'],
  },
  balance: { always: ['ratioToIdeal', 'soloRate'] },
  adaptation: { always: ['adaptationRatio', 'adaptationRatioMin', 'adaptationRatioMax', 'soloRate'] },
  scale: { always: ['growthFirstToLast'], maybeNull: ['growth2to32'] },
  micro: {
    always: [
      'kernelExemplarsPerSecond',
      'kernelGflops',
      'jsKernelGflops',
      'referenceGflops',
      'checkNanoseconds',
    ],
    // null where python3 has no numpy (summary.numpySkipped says so).
    maybeNull: ['kernelVsNumpy', 'numpyExemplarsPerSecond'],
  },
  // Quick mode moves tiny sizes: the ratios named for 20.8 and 100 MB are null there.
  tcp: {
    always: [
      'tcpRatioSmall',
      'tcpRatioLarge',
      'tlsRatioSmall',
      'movedMBSmall',
      'movedMBLarge',
      'movedMsSmall',
      'movedMsLarge',
    ],
    maybeNull: ['tcpRatio20MB', 'tcpRatio100MB', 'tlsRatio20MB'],
    // Main-thread CPU times, read from /proc: null elsewhere.
    linux: [
      'admSenderCpuMsSmall',
      'admReceiverCpuMsSmall',
      'admCoordinatorCpuMsSmall',
      'rawSenderCpuMsSmall',
      'rawReceiverCpuMsSmall',
      'admSenderCpuMsLarge',
      'admReceiverCpuMsLarge',
      'admCoordinatorCpuMsLarge',
      'rawSenderCpuMsLarge',
      'rawReceiverCpuMsLarge',
    ],
  },
  // Needs root and iproute2 (network namespaces): elsewhere it writes a result marked skipped,
  // with `summary.skipped` the reason and its measured fields null.
  'paper-network': {
    always: ['ratioLargest', 'tlsRatioLargest', 'movedMBLargest', 'linkMBps'],
    maybeNull: ['paperNetworkRatio20MB', 'paperNetworkTlsRatio20MB'],
    skippable: true,
  },
};

const TIMEOUT = 420_000;

describe('npm run bench -- --quick', () => {
  let dir: string;
  let run: CliResult;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'admove-bench-test-'));
    run = await bench(['--quick', '--out', dir], TIMEOUT - 20_000);
  }, TIMEOUT);

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('runs every benchmark to the end', () => {
    expect(run.stderr).not.toMatch(/Error|at .*\.ts:\d+/);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/bench: done/);
  });

  for (const [name, fields] of Object.entries(REQUIRED)) {
    it(`${name}: writes JSON with settings, machine, samples and the summary fields, a Markdown table and an SVG chart`, async () => {
      const json = JSON.parse(await readFile(join(dir, `${name}.json`), 'utf8'));
      expect(json.name).toBe(name);
      expect(json.quick).toBe(true);
      expect(json.machine).toMatchObject({
        cpu: expect.any(String),
        cores: expect.any(Number),
        node: process.version,
      });
      expect(json.settings).toBeTypeOf('object');
      // The machine's load at the start and the end of the run is part of every result.
      for (const end of ['start', 'end']) {
        expect(json.load[end].loadAverage).toHaveLength(3);
        expect(json.load[end]).toHaveProperty('psiCpu');
        if (process.platform === 'linux') expect(json.load[end].cpuTicks.total).toBeGreaterThan(0);
      }
      // Bounds and timing conditions are not held in quick mode; conditions are (a failed one
      // exits 1, caught above).
      for (const c of json.checks ?? []) {
        expect(c).toMatchObject({ name: expect.any(String), valid: expect.any(Boolean) });
        expect(['bound', 'condition', 'timing']).toContain(c.kind);
        if (c.kind === 'condition') expect(c.valid, `${name}: ${c.name}: ${c.cause}`).toBe(true);
      }
      expect(json.samples).toBeDefined();
      const skipped = fields.skippable && typeof json.summary.skipped === 'string';
      if (!skipped && fields.skippable) expect(json.summary.skipped).toBeNull();
      for (const f of skipped ? [] : fields.always) {
        expect(json.summary, `${name}.summary.${f}`).toHaveProperty(f);
        expect(Number.isFinite(json.summary[f]), `${name}.summary.${f} = ${json.summary[f]}`).toBe(true);
      }
      const linux = process.platform === 'linux' && !skipped ? (fields.linux ?? []) : [];
      for (const f of linux) {
        expect(Number.isFinite(json.summary[f]), `${name}.summary.${f} = ${json.summary[f]}`).toBe(true);
      }
      for (const f of [
        ...(fields.maybeNull ?? []),
        ...(skipped ? fields.always : []),
        ...(linux.length ? [] : (fields.linux ?? [])),
      ]) {
        expect(json.summary, `${name}.summary.${f}`).toHaveProperty(f);
        expect(json.summary[f] === null || Number.isFinite(json.summary[f])).toBe(true);
      }
      const md = await readFile(join(dir, `${name}.md`), 'utf8');
      expect(md).toMatch(/^# /);
      expect(md).toMatch(/\n\| .* \|\n\| (-{3}:?|---:)/);
      expect(md).toContain(`${name}.svg`);
      const svg = await readFile(join(dir, `${name}.svg`), 'utf8');
      expect(svg.startsWith('<svg')).toBe(true);
      expect(svg).toMatch(/<\/svg>\s*$/);
      // Axes are labelled with units: "label (unit)".
      expect(svg).toMatch(/<text[^>]*>[^<]+ \([^<)]+\)<\/text>/);
    });
  }

  it('writes one README.md with every section', async () => {
    const page = await readFile(join(dir, 'README.md'), 'utf8');
    for (const name of Object.keys(REQUIRED)) expect(page).toContain(`(${name}.svg)`);
  });
});

describe('quick mode never writes over bench/results', () => {
  it('goes to a fresh temporary folder when no --out is given', async () => {
    const kept = join(REPO, 'bench', 'results', 'micro.json');
    const before = existsSync(kept) ? statSync(kept).mtimeMs : null;
    const r = await bench(['micro', '--quick'], 120_000);
    expect(r.code).toBe(0);
    const out = /results in (.+)$/m.exec(r.stdout)?.[1];
    expect(out).toBeDefined();
    expect(out!.startsWith(tmpdir())).toBe(true);
    expect(existsSync(join(out!, 'micro.json'))).toBe(true);
    expect(existsSync(kept) ? statSync(kept).mtimeMs : null).toBe(before);
    await rm(out!, { recursive: true, force: true });
  }, 120_000);

  it('refuses an unknown benchmark name', async () => {
    const r = await bench(['nosuch', '--quick'], 60_000);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown benchmark nosuch; choose from quiet, redistribution/);
  });
});

describe('bench/agent-memory.ts --quick', () => {
  it('moves a vacated agent’s share straight to the other agent: the coordinator receives only replies', async () => {
    const r = await runNode(['--import', 'tsx', 'bench/agent-memory.ts', '--quick'], 120_000);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as {
      movedMB: number;
      coordinatorReceivedBytes: number;
      agents: { host: string; gainedDataMB: number; peakDuringMoveMB: number }[];
    };
    expect(out.movedMB).toBeGreaterThan(7);
    // The 8 MB went a0 → a1; what reached the coordinator is the replies and one pass's sums.
    expect(out.coordinatorReceivedBytes).toBeLessThan(100_000);
    expect(out.agents.map((a) => a.host)).toEqual(['a0', 'a1']);
    expect(out.agents[1].gainedDataMB).toBeCloseTo(out.movedMB, 1);
    expect(out.agents.every((a) => a.peakDuringMoveMB > 0)).toBe(true);
  }, 150_000);
});
