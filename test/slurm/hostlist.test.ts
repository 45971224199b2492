import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { expandHostlist, expandTasksPerNode } from '../../framework/slurm/hostlist.ts';

const hasScontrol = (() => {
  try {
    execFileSync('scontrol', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe("Slurm's compressed lists", () => {
  it('expands host lists: ranges, padding, several groups, plain names', () => {
    expect(expandHostlist('node[01-03,7],login')).toEqual(['node01', 'node02', 'node03', 'node7', 'login']);
    expect(expandHostlist('rack[1-2]-n[8-9]')).toEqual(['rack1-n8', 'rack1-n9', 'rack2-n8', 'rack2-n9']);
    expect(expandHostlist('vm')).toEqual(['vm']);
    expect(expandHostlist('gpu[009-011]')).toEqual(['gpu009', 'gpu010', 'gpu011']);
  });

  it('refuses malformed lists in one line that names the list', () => {
    expect(() => expandHostlist('node[1-3')).toThrow(/"node\[1-3": unbalanced brackets/);
    expect(() => expandHostlist('node[3-1]')).toThrow(/runs backwards/);
    expect(() => expandHostlist('node[a-b]')).toThrow(/"a-b" is not a number or a range/);
  });

  it('expands task counts per node', () => {
    expect(expandTasksPerNode('2(x3),1')).toEqual([2, 2, 2, 1]);
    expect(expandTasksPerNode('3')).toEqual([3]);
    expect(() => expandTasksPerNode('2(x)')).toThrow(/SLURM_STEP_TASKS_PER_NODE="2\(x\)"/);
    expect(() => expandTasksPerNode('0')).toThrow(/≥ 1/);
  });

  it.skipIf(!hasScontrol)('agrees with scontrol show hostnames on random lists', () => {
    const range = fc
      .tuple(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 5 }), fc.integer({ min: 1, max: 3 }))
      .map(([lo, len, pad]) => {
        const p = (n: number) => String(n).padStart(pad, '0');
        return len === 0 ? p(lo) : `${p(lo)}-${p(lo + len)}`;
      });
    const item = fc.oneof(
      fc.stringMatching(/^[a-z][a-z0-9]{0,5}$/),
      fc
        .tuple(fc.stringMatching(/^[a-z]{1,4}$/), fc.array(range, { minLength: 1, maxLength: 3 }))
        .map(([prefix, ranges]) => `${prefix}[${ranges.join(',')}]`),
    );
    fc.assert(
      fc.property(fc.array(item, { minLength: 1, maxLength: 3 }), (items) => {
        const list = items.join(',');
        const slurm = execFileSync('scontrol', ['show', 'hostnames', list], { encoding: 'utf8' })
          .split('\n')
          .filter(Boolean);
        // scontrol drops repeats of a name; so does a job's node list, which never has any.
        expect([...new Set(expandHostlist(list))]).toEqual([...new Set(slurm)]);
      }),
      { numRuns: 60 },
    );
  });
});
