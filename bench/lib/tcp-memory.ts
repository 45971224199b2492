/**
 * Resident memory of a child process, for `npm run bench -- tcp` to show what an agent's
 * receive pool costs: VmRSS from /proc (Linux), or null where there is none.
 */
import { readFileSync } from 'node:fs';

/** VmRSS of process `pid` in MB (10^6 bytes), or null (no /proc, or the process is gone). */
export function residentMB(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const kB = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  return kB ? (Number(kB[1]) * 1024) / 1e6 : null;
}
