/**
 * The network of `npm run bench -- paper-network`: a coordinator namespace and two agent
 * namespaces, each joined by a veth pair to a bridge in a fourth namespace, every veth end's
 * egress shaped by `tc … tbf` to one rate (the paper's 10 Mbit/s Ethernet). Traffic between
 * any two of them leaves through one shaped end and enters the other through another: there
 * is no other path (the addresses exist only inside these namespaces; each namespace's own
 * loopback is not shared with the others).
 *
 * Namespaces are named `admnet-<pid>-<role>` after the process that made them, so two runs
 * never share one; namespaces of that form whose process is gone are stale and removed first.
 */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

const PREFIX = 'admnet';
const STALE = new RegExp(`^${PREFIX}-(\\d+)-[a-z0-9]+$`);

export type Role = 'c' | 'a0' | 'a1';

export interface Topology {
  /** The namespace of each role, and the bridge's. */
  readonly ns: Readonly<Record<Role | 'br', string>>;
  /** Each role's address on the shaped network (inside its namespace only). */
  readonly address: Readonly<Record<Role, string>>;
  /** The `tc … tbf` line every veth end's egress got. */
  readonly shaping: string;
  /** Byte and packet counters of every shaped qdisc. */
  qdiscStats(): Promise<QdiscStats[]>;
  /** Delete the namespaces (their veths and qdiscs go with them). Never throws. */
  destroy(): Promise<void>;
}

export interface QdiscStats {
  /** "<role> eth0" (that namespace's egress) or "br p-<role>" (the bridge's egress towards it). */
  readonly link: string;
  readonly kind: string;
  readonly bytes: number;
  readonly packets: number;
  readonly drops: number;
  readonly overlimits: number;
}

export interface TopologyOptions {
  /** e.g. "10mbit" */
  readonly rate: string;
  readonly burst: string;
  readonly latency: string;
  /** The first three octets, e.g. "10.77.0": c is .1, a0 .2, a1 .3 (a /24 in every namespace). */
  readonly subnet: string;
}

const ROLES: readonly Role[] = ['c', 'a0', 'a1'];

async function ip(args: readonly string[]): Promise<string> {
  return (await run('ip', [...args])).stdout;
}

async function tc(args: readonly string[]): Promise<string> {
  return (await run('tc', [...args])).stdout;
}

/** The first line of what a failed command said, without a leading "Error:". */
function firstLine(error: unknown): string {
  const e = error as { stderr?: string; message?: string; code?: string };
  const text = (e.stderr?.trim() || e.message || String(error)).split('\n')[0];
  return text.replace(/^Error:\s*/i, '').trim();
}

/**
 * Why this machine cannot run the benchmark (null if it can): not root, no `ip` or `tc`, or
 * a namespace cannot be made or entered. Leaves nothing behind.
 */
export async function netnsUnavailable(): Promise<string | null> {
  if (process.platform !== 'linux') return `network namespaces need Linux (this is ${process.platform})`;
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'not root (ip netns needs root)';
  try {
    await ip(['-V']);
  } catch {
    return '`ip` (iproute2) is not installed';
  }
  try {
    await tc(['-V']);
  } catch {
    return '`tc` (iproute2) is not installed';
  }
  const probe = `${PREFIX}-${process.pid}-probe`;
  try {
    await ip(['netns', 'add', probe]);
  } catch (error) {
    return `ip netns add failed: ${firstLine(error)}`;
  }
  try {
    await ip(['netns', 'exec', probe, 'true']);
  } catch (error) {
    return `ip netns exec failed: ${firstLine(error)}`;
  } finally {
    await ip(['netns', 'del', probe]).catch(() => {});
  }
  return null;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Namespaces `admnet-<pid>-…` whose process no longer runs: left by a run that was killed. */
export async function removeStaleNamespaces(): Promise<string[]> {
  const list = await ip(['netns', 'list']).catch(() => '');
  const removed: string[] = [];
  for (const line of list.split('\n')) {
    const name = line.trim().split(/\s+/)[0];
    const m = STALE.exec(name ?? '');
    if (!m || alive(Number(m[1]))) continue;
    await ip(['netns', 'del', name]).catch(() => {});
    removed.push(name);
  }
  return removed;
}

/** Make the namespaces, the bridge, the veths, the addresses and the shaping. */
export async function createTopology(options: TopologyOptions): Promise<Topology> {
  const tag = `${PREFIX}-${process.pid}`;
  const ns = { c: `${tag}-c`, a0: `${tag}-a0`, a1: `${tag}-a1`, br: `${tag}-br` };
  const address = { c: `${options.subnet}.1`, a0: `${options.subnet}.2`, a1: `${options.subnet}.3` };
  const tbf = ['root', 'tbf', 'rate', options.rate, 'burst', options.burst, 'latency', options.latency];
  const made: string[] = [];
  // An exit that skipped `destroy` (Ctrl-C, an uncaught error) still removes them.
  const onExit = () => {
    for (const name of made.splice(0)) {
      try {
        execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
      } catch {}
    }
  };
  process.once('exit', onExit);
  const destroy = async () => {
    process.off('exit', onExit);
    for (const name of made.splice(0).reverse()) await ip(['netns', 'del', name]).catch(() => {});
  };
  try {
    // Same names from an earlier run of this pid (not possible unless the pid was reused).
    for (const name of Object.values(ns)) await ip(['netns', 'del', name]).catch(() => {});
    for (const name of Object.values(ns)) {
      await ip(['netns', 'add', name]);
      made.push(name);
      await ip(['-n', name, 'link', 'set', 'lo', 'up']);
    }
    await ip(['-n', ns.br, 'link', 'add', 'br0', 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0']);
    await ip(['-n', ns.br, 'link', 'set', 'br0', 'up']);
    for (const role of ROLES) {
      const port = `p-${role}`;
      await ip(['-n', ns[role], 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', port, 'netns', ns.br]);
      await ip(['-n', ns.br, 'link', 'set', port, 'master', 'br0']);
      await ip(['-n', ns.br, 'link', 'set', port, 'up']);
      await ip(['-n', ns[role], 'addr', 'add', `${address[role]}/24`, 'dev', 'eth0']);
      await ip(['-n', ns[role], 'link', 'set', 'eth0', 'up']);
      // Both directions of the link: this namespace's egress, and the bridge's towards it.
      await tc(['-n', ns[role], 'qdisc', 'add', 'dev', 'eth0', ...tbf]);
      await tc(['-n', ns.br, 'qdisc', 'add', 'dev', port, ...tbf]);
    }
  } catch (error) {
    await destroy();
    throw new Error(`setting up the namespaces failed: ${firstLine(error)}`);
  }
  const qdiscStats = async (): Promise<QdiscStats[]> => {
    const out: QdiscStats[] = [];
    const read = async (namespace: string, dev: string, link: string) => {
      const json = JSON.parse(await tc(['-s', '-j', '-n', namespace, 'qdisc', 'show', 'dev', dev])) as {
        kind: string;
        bytes: number;
        packets: number;
        drops: number;
        overlimits: number;
      }[];
      for (const q of json.filter((x) => x.kind === 'tbf'))
        out.push({
          link,
          kind: q.kind,
          bytes: q.bytes,
          packets: q.packets,
          drops: q.drops,
          overlimits: q.overlimits,
        });
    };
    for (const role of ROLES) {
      await read(ns[role], 'eth0', `${role} eth0`);
      await read(ns.br, `p-${role}`, `br p-${role}`);
    }
    return out;
  };
  return { ns, address, shaping: `tc qdisc add dev X ${tbf.join(' ')}`, qdiscStats, destroy };
}

/** The namespaces of this process that exist now (for the check that teardown left none). */
export async function namespacesOfThisProcess(): Promise<string[]> {
  const list = await ip(['netns', 'list']).catch(() => '');
  return list
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0])
    .filter((n) => n?.startsWith(`${PREFIX}-${process.pid}-`));
}
