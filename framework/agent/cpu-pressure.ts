/**
 * Where an agent reads CPU pressure (PSI) and what it says. Pure: the sampler reads the
 * files. PSI is recorded beside the load reading, not used for it: it says how long
 * runnable tasks waited for a CPU, which the busy-time share does not.
 *
 * The agent's own cgroup v2 directory comes first (`0::PATH` in /proc/self/cgroup, under
 * the cgroup2 mount of /proc/self/mountinfo — /sys/fs/cgroup on a unified host,
 * /sys/fs/cgroup/unified on a v1 hybrid); else the machine-wide /proc/pressure/cpu. In a
 * container both may describe the whole machine.
 */

export const MACHINE_PRESSURE_FILE = '/proc/pressure/cpu';

/** `some avg10` of a PSI file: % of the last 10 s some runnable task waited; null if absent. */
export function parseSomeAvg10(text: string): number | null {
  const m = /^some\b.*\bavg10=(\d+(?:\.\d+)?)/m.exec(text);
  return m ? Number(m[1]) : null;
}

/** The cgroup v2 path of the `0::PATH` line of /proc/self/cgroup; null without one. */
export function cgroupV2Path(procSelfCgroup: string): string | null {
  const m = /^0::(\/\S*)\s*$/m.exec(procSelfCgroup);
  return m ? m[1] : null;
}

/** Where cgroup2 is mounted, from /proc/self/mountinfo: its mount point and the root it shows. */
export function cgroup2Mounts(mountinfo: string): { readonly root: string; readonly mountPoint: string }[] {
  const out: { root: string; mountPoint: string }[] = [];
  for (const line of mountinfo.split('\n')) {
    // id parent major:minor root mount-point options [optional…] - fstype source super-options
    const [left, right] = line.split(' - ');
    if (right === undefined || right.split(' ')[0] !== 'cgroup2') continue;
    const f = left.split(' ');
    if (f.length < 5) continue;
    out.push({ root: unescapeMountinfo(f[3]), mountPoint: unescapeMountinfo(f[4]) });
  }
  return out;
}

/**
 * PSI files to try, best first: the agent's own cgroup's `cpu.pressure` under each cgroup2
 * mount that shows its cgroup, then the machine's.
 */
export function pressureFileCandidates(procSelfCgroup: string, mountinfo: string): string[] {
  const path = cgroupV2Path(procSelfCgroup);
  const own: string[] = [];
  if (path !== null) {
    for (const { root, mountPoint } of cgroup2Mounts(mountinfo)) {
      const inside = relativeTo(root, path);
      if (inside === null) continue;
      own.push(`${mountPoint.replace(/\/$/, '')}${inside}/cpu.pressure`.replace(/\/{2,}/g, '/'));
    }
  }
  return [...new Set([...own, MACHINE_PRESSURE_FILE])];
}

/** `path` below `root` (with its leading slash, '' for the root itself); null if outside. */
function relativeTo(root: string, path: string): string | null {
  if (root === '/') return path === '/' ? '' : path;
  if (path === root) return '';
  return path.startsWith(`${root}/`) ? path.slice(root.length) : null;
}

/** mountinfo writes space, tab, newline and backslash as octal escapes (`\040`). */
function unescapeMountinfo(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}
