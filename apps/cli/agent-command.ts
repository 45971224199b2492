import { MIN_FRACTION_LEFT } from '../../framework/agent/cpu-share.ts';
import { keepFreedMemoryLine, keepsFreedMemory } from '../../framework/agent/freed-memory.ts';
import { DEFAULT_LOAD_WATCH, type LoadWatchOptions } from '../../framework/agent/load-watcher.ts';
import { UserError } from '../../framework/errors.ts';
import { formatEndpoint } from '../../framework/net/secure-socket.ts';
import {
  byteSizeFlag,
  type FlagSpec,
  type FlagValues,
  intFlag,
  numberFlag,
  parseFlags,
  speedFlag,
  stringFlag,
} from './flags.ts';
import type { StopSignals } from './signals.ts';
import { print } from './stdout.ts';

export const AGENT_HELP = `admove agent — host worker threads for admove jobs run from other machines

Usage: admove agent [flags]

Serves one job at a time: a second coordinator is refused (with the job it serves) and is
served once the first job ends. When its coordinator disappears (connection closed, or no
heartbeat for the job's liveness limit) the agent drops that job's exemplars and waits for
the next. Ctrl-C or SIGTERM ends it cleanly (exit 0).

Flags
  --listen HOST:PORT   where to listen (default 127.0.0.1:7000; port 0 picks a free one)
  --name NAME          the host name jobs know it by (default HOST:PORT as listened on;
                       on 0.0.0.0 or ::, this machine's hostname:PORT)
  --secret-file FILE   a pre-shared key (≥ 16 bytes, chmod 600): every connection is TLS 1.3
                       authenticated by it. Without it only loopback addresses are allowed.
  --workers N          worker threads (default 1); with N > 1 they are hosts NAME.0 … NAME.{N-1},
                       and an event naming NAME applies to all of them
  --speed S            declared speed, higher is faster, 0.001–1e6 (default 1; a hostfile's wins)
  --max-memory SIZE    accept at most this many bytes of exemplars (e.g. 2GB; default: no cap)
  --receive-pool       pre-fault memory for rows moved in: as much as this agent's initial share
                       of each job (within --max-memory), so a move lands in warm memory (a
                       100 MB move took half the time here); costs up to twice the share's memory.
                       On Linux, start the agent with MALLOC_MMAP_THRESHOLD_=33554432
                       MALLOC_TRIM_THRESHOLD_=4294967296 in its environment too: it then keeps
                       the memory it frees (a 20.8 MB move: 94–123 → 40–75 ms here)
  --accept-faults      let coordinators inject worker faults (admove opt --inject-fault): tests only

Load watch (Linux)
  --load-watch         while serving a job, measure the share of this agent's cores other
                       processes take (busy time in /proc/stat minus the agent's own CPU time,
                       over the cores it may run on) and, when the fraction left for the job
                       (1 - share, at least ${MIN_FRACTION_LEFT}) changes by ≥ --load-threshold and stays
                       changed for --load-hold, send the job load(NAME, fraction): the mean
                       over that time. The CPU pressure (PSI: the agent's cgroup v2
                       cpu.pressure, else /proc/pressure/cpu) goes with it, for the report
  --load-threshold F   least change worth an event, in (0, 1] (default ${DEFAULT_LOAD_WATCH.threshold})
  --load-hold SECONDS  how long a change must last (default ${DEFAULT_LOAD_WATCH.holdMs / 1000})
  --load-interval MS   how often the machine is looked at (default ${DEFAULT_LOAD_WATCH.sampleMs})
  --help               show this help
`;

const SPEC: FlagSpec = {
  listen: { type: 'string' },
  name: { type: 'string' },
  'secret-file': { type: 'string' },
  workers: { type: 'string' },
  speed: { type: 'string' },
  'max-memory': { type: 'string' },
  'accept-faults': { type: 'boolean' },
  'load-watch': { type: 'boolean' },
  'receive-pool': { type: 'boolean' },
  'load-threshold': { type: 'string' },
  'load-hold': { type: 'string' },
  'load-interval': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};

export async function agentCommand(argv: readonly string[], signals: StopSignals): Promise<number> {
  const values = parseFlags('agent', argv, SPEC);
  if (values.help) {
    print(AGENT_HELP);
    return 0;
  }
  const { parseEndpoint, readSecretFile } = await import('../../framework/net/secure-socket.ts');
  const listen = parseEndpoint(stringFlag(values, 'listen') ?? '127.0.0.1:7000', '--listen', true);
  const secretFile = stringFlag(values, 'secret-file');
  const secret = secretFile ? await readSecretFile(secretFile) : undefined;
  const name = stringFlag(values, 'name');
  if (name !== undefined && !/^[A-Za-z0-9_.:-]{1,64}$/.test(name)) {
    throw new UserError(`--name "${name}": use 1–64 letters, digits and _ . : -`);
  }
  const workers = intFlag(values, 'workers', 1, 1, 256);
  const speed = speedFlag(values, 'speed', 1);
  const maxMemory = values['max-memory'] === undefined ? null : byteSizeFlag(values, 'max-memory', 0);
  // An agent that may hold nothing only makes every job fail later, with a vaguer reason.
  if (maxMemory === 0)
    throw new UserError('--max-memory 0: this agent could hold no exemplars; give a size such as 2GB');
  const loadWatch = readLoadWatch(values);
  const { Agent } = await import('../../framework/agent/agent.ts');
  const log = (line: string) => process.stderr.write(`admove agent: ${line}\n`);
  // The agent has nothing to save: a signal closes it, cleanly, with exit 0. Our handlers go
  // in before the command's are taken out: a signal that arrives while a process has no
  // handler at all, or while one is being replaced, is lost or kills it.
  let stopNow: (signal: NodeJS.Signals) => void = () => {};
  const stopped = new Promise<NodeJS.Signals>((resolve) => {
    stopNow = resolve;
  });
  process.once('SIGINT', stopNow);
  process.once('SIGTERM', stopNow);
  signals.dispose();
  const agent = await Agent.start({
    host: listen.host,
    port: listen.port,
    name,
    secret,
    workers,
    speed,
    maxMemory,
    acceptFaults: Boolean(values['accept-faults']),
    loadWatch,
    receivePool: Boolean(values['receive-pool']),
    log,
  }).catch((error: unknown) => {
    process.off('SIGINT', stopNow);
    process.off('SIGTERM', stopNow);
    throw error;
  });
  const where = formatEndpoint(agent.address);
  print(
    `admove agent ${agent.name} listening on ${where} (${workers} worker${workers === 1 ? '' : 's'}, speed ${speed}${loadWatch ? ', load watch' : ''}${secret ? ', TLS with a pre-shared key' : ', loopback only, no secret'})\n`,
  );
  if (values['receive-pool'] && process.platform === 'linux' && !keepsFreedMemory()) {
    log(
      `moves in land faster when the agent keeps the memory it frees: start it with ${keepFreedMemoryLine()} in its environment (resident memory then stays at its peak)`,
    );
  }
  log(`${await stopped}: closing`);
  await agent.close();
  return 0;
}

/** `--load-watch` and its settings; null without it (its settings alone are a mistake). */
function readLoadWatch(values: FlagValues): LoadWatchOptions | null {
  if (!values['load-watch']) {
    const stray = ['load-threshold', 'load-hold', 'load-interval'].find((f) => values[f] !== undefined);
    if (stray) throw new UserError(`--${stray} applies to --load-watch; add --load-watch or drop it`);
    return null;
  }
  const d = DEFAULT_LOAD_WATCH;
  return {
    threshold: numberFlag(
      values,
      'load-threshold',
      d.threshold,
      (n) => n > 0 && n <= 1,
      'a number in (0, 1]',
    ),
    holdMs:
      numberFlag(
        values,
        'load-hold',
        d.holdMs / 1000,
        (n) => n >= 0 && n <= 3600,
        'a number of seconds in [0, 3600]',
      ) * 1000,
    sampleMs: numberFlag(
      values,
      'load-interval',
      d.sampleMs,
      (n) => n >= 10 && n <= 60_000,
      'a number of ms in [10, 60000]',
    ),
  };
}
