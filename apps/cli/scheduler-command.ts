import { createInterface } from 'node:readline';
import { RunFailure, UserError } from '../../framework/errors.ts';
import type { EventRecord } from '../../framework/events/types.ts';
import { parseEventLine } from '../../scheduler-stub/event-line.ts';
import { type FlagSpec, intFlag, parseFlags, stringFlag } from './flags.ts';
import { takeSecretFromEnvironment } from './secret-env.ts';
import type { StopSignals } from './signals.ts';
import { print } from './stdout.ts';

export const SCHEDULER_HELP = `admove scheduler — send scheduler events to a running job

Usage: admove scheduler --job HOST:PORT [flags]
       admove scheduler --job HOST:PORT --slurm   (inside a Slurm job: started by admove slurm)

The job must have been started with admove opt --control HOST:PORT. Events are read from
stdin, one per line (or from --trace), sent as they come, and each event's record is printed
once the job has answered it: applied, superseded, or rejected with the reason. A vacate
applied while its data has nowhere to go (every other host vacated, or full under its
--max-memory) reads "applied at … ms, but its data stays on it for now (why)": the host
computes no more, and its data leaves once a host comes back or has room.

  vacate h2                the owner reclaims h2: all its data must leave
  vacate h2 deadline 500   … within 500 ms; what cannot move in time is reloaded
  available h2             h2 may take work again
  load h3 0.5              h3 now runs at half its speed
  add HOST:PORT            connect the job to the agent there: its workers join and take
                           their share like hosts made available
  end [REASON]             stop the job cleanly: it writes its checkpoint and its report,
                           marked interrupted (the coordinator's own host is going away)

A line that is not an event (or over 1024 characters, a comment aside) is reported (with its number)
and skipped; the others still go, and the command then exits 2 — as it does when the job
rejected an event or refused an add. A bad --trace file is reported before any of its events
is sent, and the command exits 2 at once (the job goes on).

Flags
  --job HOST:PORT          the job's control port (required)
  --secret-file FILE       the job's pre-shared key (when it was started with one)
  --trace FILE.json        send the events of a trace file at their "ms" times instead of stdin
  --json                   print each record as one JSON line (for plotting and scripts)
  --slurm                  instead of reading events, poll the Slurm job's nodes (sinfo, scontrol):
                           vacate a node that turns draining, failing or down (deadline: the
                           start of a reservation covering it), available when it returns, end
                           when it is the coordinator's node; the key comes from ADMOVE_SECRET.
                           It runs until the job ends and exits 0 then, rejected events or not
                           (each is printed with its reason)
  --poll MS                how often --slurm asks Slurm (default 2000)
  --keep-nodes             with --slurm: keep a vacated node in the job (to take it back when it
                           returns) instead of releasing it once its data has left
  --help                   show this help
`;

const SPEC: FlagSpec = {
  job: { type: 'string' },
  'secret-file': { type: 'string' },
  trace: { type: 'string' },
  json: { type: 'boolean' },
  slurm: { type: 'boolean' },
  poll: { type: 'string' },
  'keep-nodes': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

export async function schedulerCommand(argv: readonly string[], signals: StopSignals): Promise<number> {
  const values = parseFlags('scheduler', argv, SPEC);
  if (values.help) {
    print(SCHEDULER_HELP);
    return 0;
  }
  const jobFlag = stringFlag(values, 'job');
  if (!jobFlag) throw new UserError('--job HOST:PORT is required: the control port of admove opt --control');
  const { parseEndpoint, readSecretFile } = await import('../../framework/net/secure-socket.ts');
  const endpoint = parseEndpoint(jobFlag, '--job');
  const secretFile = stringFlag(values, 'secret-file');
  const slurm = Boolean(values.slurm);
  if ((values.poll !== undefined || values['keep-nodes']) && !slurm)
    throw new UserError(`--${values.poll !== undefined ? 'poll' : 'keep-nodes'} goes with --slurm`);
  if (slurm && values.trace !== undefined)
    throw new UserError('--slurm and --trace are two sources of events; give one');
  const pollMs = intFlag(values, 'poll', 2000, 100, 3_600_000);
  const secret = secretFile
    ? await readSecretFile(secretFile)
    : slurm
      ? takeSecretFromEnvironment()
      : undefined;
  const { RequestRefused, JobClient } = await import('../../scheduler-stub/job-client.ts');
  // Started beside the job (admove slurm), the watcher may be up before the control port is.
  const client = slurm
    ? await connectWithin(JobClient, endpoint, secret, 60_000)
    : await JobClient.connect(endpoint, secret);
  const json = Boolean(values.json);
  // Lines that were not events, and events the job rejected (or adds it refused): exit 2.
  let badLines = 0;
  let refused = 0;
  const show = (records: readonly EventRecord[]) => {
    for (const r of records) {
      if (r.outcome?.status === 'rejected') refused++;
      print(json ? `${JSON.stringify(r)}\n` : `${describeRecord(r)}\n`);
    }
  };
  signals.dispose();
  const pending: Promise<void>[] = [];
  // Each request's failure is seen once, by Promise.all below: until then it must not count
  // as unhandled (the job may go away while stdin is still open, or a trace still waits).
  const track = (request: Promise<void>) => {
    request.catch(() => {});
    pending.push(request);
  };
  let jobGone = false;
  const gone = client.closed.then(() => {
    jobGone = true;
  });
  if (slurm) {
    const { watchSlurmNodes } = await import('./slurm-node-watch.ts');
    const log = (line: string) => process.stderr.write(`admove scheduler: ${line}\n`);
    try {
      await watchSlurmNodes(client, { pollMs, show, log, releaseNodes: !values['keep-nodes'] });
    } finally {
      client.close();
    }
    return 0;
  }
  const traceFile = stringFlag(values, 'trace');
  try {
    if (traceFile) {
      const { loadTraceFile } = await import('../../scheduler-stub/trace.ts');
      const trace = await loadTraceFile(traceFile, client.hosts);
      const started = performance.now();
      const byTime = [...trace.events].sort((a, b) => timeOf(a.at, traceFile) - timeOf(b.at, traceFile));
      for (const entry of byTime) {
        const wait = timeOf(entry.at, traceFile) - (performance.now() - started);
        if (wait > 0) await Promise.race([new Promise((r) => setTimeout(r, wait).unref()), gone]);
        if (jobGone) break;
        track(client.send(entry.event).then(show));
      }
    } else {
      let n = 0;
      const lines = createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY });
      // A job that ends stops the reading: nothing more can be sent to it.
      void gone.then(() => lines.close());
      for await (const line of lines) {
        n++;
        const parsed = parseEventLine(line);
        if (parsed.kind === 'blank') continue;
        if (parsed.kind === 'error') {
          process.stderr.write(`admove scheduler: line ${n}: ${parsed.reason}\n`);
          badLines++;
          continue;
        }
        if (parsed.kind === 'end') {
          track(client.end(parsed.reason).then(() => print('end: the job is stopping\n')));
          continue;
        }
        if (parsed.kind === 'add') {
          const line = n;
          track(
            client.add(parsed.address).then(show, (error: unknown) => {
              if (!(error instanceof RequestRefused)) throw error;
              refused++;
              process.stderr.write(
                `admove scheduler: line ${line}: add ${parsed.address}: ${error.message}\n`,
              );
            }),
          );
          continue;
        }
        track(client.send(parsed.event).then(show));
      }
    }
    try {
      await Promise.all(pending);
    } catch (error) {
      throw new RunFailure(`the job's control port went away: ${(error as Error).message}`);
    }
  } finally {
    // Also when the trace file is bad: an open connection would keep this process alive
    // until the job ends.
    client.close();
  }
  return badLines > 0 || refused > 0 ? 2 : 0;
}

function timeOf(at: { ms: number } | { iteration: number }, file: string): number {
  if ('ms' in at) return at.ms;
  throw new UserError(
    `${file}: an event is timed by iteration; admove scheduler sees no iterations, give "ms" times`,
  );
}

export function describeRecord(r: EventRecord): string {
  const e = r.event;
  const what =
    e.type === 'load'
      ? `load ${e.host} ${e.fraction}`
      : e.type === 'vacate' && e.deadlineMs !== undefined
        ? `vacate ${e.host} deadline ${e.deadlineMs}`
        : `${e.type} ${e.host}`;
  const o = r.outcome;
  const fate =
    o === undefined
      ? 'pending'
      : o.status === 'applied'
        ? `applied at ${Math.round(o.appliedAt)} ms${o.dataStays === undefined ? '' : `, but its data stays on it for now (${o.dataStays})`}`
        : o.status === 'superseded'
          ? `superseded by #${o.by}`
          : `rejected: ${o.reason}`;
  return `${r.seq >= 0 ? `#${r.seq} ` : ''}${what}: ${fate}`;
}

async function connectWithin(
  client: typeof import('../../scheduler-stub/job-client.ts').JobClient,
  endpoint: import('../../framework/net/secure-socket.ts').Endpoint,
  secret: Buffer | undefined,
  limitMs: number,
) {
  const until = performance.now() + limitMs;
  for (;;) {
    try {
      return await client.connect(endpoint, secret);
    } catch (error) {
      if (performance.now() > until || !/connection refused/.test((error as Error).message)) throw error;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}
