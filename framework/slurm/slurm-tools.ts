/**
 * The Slurm commands admove asks (the I/O edge of framework/slurm): each runs with a time
 * limit and its failure comes back as one line naming the command.
 */
import { execFile } from 'node:child_process';
import { RunFailure } from '../errors.ts';
import { expandHostlist } from './hostlist.ts';

const LIMIT_MS = 15_000;

/** Runs a Slurm command; stdout, or a RunFailure naming the command and what it said. */
export function slurmCommand(command: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: LIMIT_MS, maxBuffer: 16 * 2 ** 20 }, (error, stdout, stderr) => {
      if (!error) {
        resolve(stdout);
        return;
      }
      const said = String(stderr).trim().split('\n')[0] || error.message.split('\n')[0];
      reject(new RunFailure(`${command} ${args.join(' ')} failed: ${said}`));
    });
  });
}

/** `scontrol show hostnames LIST`, or the same expansion done here when scontrol is missing. */
export async function expandNodes(list: string): Promise<string[]> {
  try {
    const out = await slurmCommand('scontrol', ['show', 'hostnames', list]);
    const nodes = out
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
    if (nodes.length > 0) return nodes;
  } catch {
    // Not on a Slurm node after all, or scontrol not on PATH: Slurm's list syntax is simple.
  }
  return expandHostlist(list, 'SLURM_STEP_NODELIST');
}

/** `EndTime` of the job (epoch ms) as `scontrol show job` gives it now (preemption moves it). */
export async function jobEndTime(jobId: number): Promise<number | null> {
  const out = await slurmCommand('scontrol', ['show', 'job', '-o', String(jobId)]);
  const m = /\bEndTime=(\S+)/.exec(out);
  const t = m ? Date.parse(m[1]) : Number.NaN;
  return Number.isFinite(t) ? t : null;
}

/** Each node's NodeAddr (`scontrol show node`), the node's own name where Slurm gives none. */
export async function nodeAddresses(nodes: readonly string[]): Promise<string[]> {
  let text = '';
  try {
    text = await slurmCommand('scontrol', ['show', 'node', '-o', nodes.join(',')]);
  } catch {
    return [...nodes];
  }
  const byName = new Map<string, string>();
  for (const line of text.split('\n')) {
    const name = /\bNodeName=(\S+)/.exec(line)?.[1];
    const addr = /\bNodeAddr=(\S+)/.exec(line)?.[1];
    if (name && addr) byName.set(name, addr);
  }
  return nodes.map((n) => byName.get(n) ?? n);
}
