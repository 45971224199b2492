import { assign, emit, fromPromise, setup } from 'xstate';
import { addAccumulator } from '../app/accumulator.ts';

/** What one round of computing on all workers gave back. */
export interface SliceResult {
  /** Partial accumulator summed over the workers for this slice. */
  readonly acc: Float64Array;
  /** True when every exemplar has been counted in this pass. */
  readonly complete: boolean;
}

export interface RedistributeResult {
  /** Every host is vacated: nobody may hold the data. */
  readonly noHostAvailable: boolean;
}

export interface RecoverResult {
  /** A failed worker's rows have nowhere to go (every other host vacated, failed or full): wait for one. */
  readonly noHostAvailable: boolean;
}

export interface PassInput {
  /** How long to wait in `waitingForHost` before giving up (the runtime may count from earlier). */
  readonly waitTimeoutMs: number;
}

/** Start a pass (in `idle` only). */
export interface PassEvent {
  readonly type: 'pass';
  readonly params: Float64Array;
  /** Already cancelled: never wait for a host. */
  readonly cancelled?: boolean;
}

export interface PassOutput {
  readonly acc: Float64Array | null;
  /** The pass gave up: no host came back within the wait timeout. */
  readonly gaveUp: boolean;
  /** A cancel came; with `gaveUp`, the pass stopped waiting for a host because of it. */
  readonly cancelled: boolean;
  readonly failure: unknown;
}

interface PassContext {
  params: Float64Array;
  readonly waitTimeoutMs: number;
  acc: Float64Array | null;
  /** The next slice starts the pass (processed flags are cleared). */
  fresh: boolean;
  gaveUp: boolean;
  /** A `cancel` came: a wait for a host ends at once (computing and moves finish first). */
  cancelled: boolean;
  /** An error no state here handles; the pass rejects with it. */
  failure: unknown;
  /** A `pass` came during a hand-off between passes: it starts once the hand-off is done. */
  passWaiting: boolean;
}

function addInto(acc: Float64Array | null, part: Float64Array): Float64Array {
  return acc === null ? part : addAccumulator(acc, part);
}

/** The context a `pass` event starts; `waiting` while a move between passes is still on. */
function newPass(e: PassEvent, waiting: boolean): Partial<PassContext> {
  return {
    params: e.params,
    acc: null,
    fresh: true,
    gaveUp: false,
    cancelled: e.cancelled ?? false,
    failure: undefined,
    passWaiting: waiting,
  };
}

function outputOf(context: PassContext): PassOutput {
  return {
    acc: context.acc,
    gaveUp: context.gaveUp,
    cancelled: context.cancelled,
    failure: context.failure,
  };
}

/**
 * The passes over the data, with the ADM migration states built in (ADM paper §2.3). One
 * actor lives as long as the job: a `pass` event takes it from `idle` through one pass and
 * back, and it emits `passDone` with the outcome.
 *
 * - `idle.quiet`: between passes; the app works (a line search, a test) and events wait.
 * - `idle.handingOff`: a vacate arrived between passes and the vacated workers can hand their
 *   rows straight to the others (threads): they do at once, and a `pass` waits for it.
 * - `idle.redistributing`: a vacate arrived between passes that no hand-off can apply (TCP
 *   agents, a deadline): the data moves at once, as in `redistributing` (nobody computes to be
 *   stopped), and a `pass` waits for it; `idle.failed` if that fails for a reason that is not
 *   a worker's (the next pass fails with it).
 * - `idle.recovering`: a worker failed in that hand-off or move: its exemplars are reloaded at
 *   once (rows in flight included), before any pass; `idle.recoveryDue` if nobody can take
 *   them yet.
 * - `computing.running`: every worker with data counts its exemplars.
 * - `computing.migrationPending`: an event arrived; workers stop at their next chunk.
 * - `computing.handingOff`: a vacate arrived and the vacated workers can hand their rows
 *   straight to the others while everyone computes (threads): nobody stops.
 * - `redistributing`: global — queued events are applied, the partition is recomputed
 *   from scratch, data moves; then computing resumes where the pass stopped.
 * - `waitingForHost`: every host is vacated, or the hosts left may not hold the data under
 *   their memory caps; wait for one to become available.
 * - `recovering`: a worker threw, exited or hung; its data is reloaded elsewhere and the
 *   pass restarts.
 * - `waitingToRecover`: the failed worker's data has nowhere to go (every other host vacated,
 *   failed or full); wait for a host, then recover.
 *
 * Transition logic only: the effects (`startSlice`, `redistribute`, `requestStop`,
 * `eventsPending`) are placeholders the runtime supplies with `machine.provide`.
 */
export const passMachine = setup({
  types: {
    input: {} as PassInput,
    context: {} as PassContext,
    events: {} as
      | PassEvent
      | { type: 'scheduler.event' }
      /** A worker that holds rows failed with no request in flight (the runtime heard of it). */
      | { type: 'worker.lost' }
      | { type: 'cancel' }
      | { type: 'slice.done'; output: SliceResult }
      | { type: 'slice.failed'; error: unknown },
    emitted: {} as { type: 'passDone'; output: PassOutput },
  },
  actors: {
    redistribute: fromPromise<RedistributeResult, void>(async () => {
      throw new Error('redistribute is supplied by the runtime');
    }),
    /**
     * `redistribute` while the app works between passes: nobody waits to compute, so the move's
     * migration ends when the rows are in (not when the app asks for the next pass).
     */
    redistributeBetweenPasses: fromPromise<RedistributeResult, void>(async () => {
      throw new Error('redistributeBetweenPasses is supplied by the runtime');
    }),
    recover: fromPromise<RecoverResult, void>(async () => {
      throw new Error('recover is supplied by the runtime');
    }),
    /** `recover` after a hand-off between passes failed (which it takes as handled). */
    recoverBetweenPasses: fromPromise<RecoverResult, void>(async () => {
      throw new Error('recoverBetweenPasses is supplied by the runtime');
    }),
    /** Hand the vacated workers' rows to the others mid-pass; never rejects (faults surface in the slice). */
    handOff: fromPromise<void, void>(async () => {
      throw new Error('handOff is supplied by the runtime');
    }),
  },
  guards: {
    eventsPending: () => false,
    /** No event, but the measured speeds say a different partition would be clearly faster. */
    rebalanceDue: () => false,
    /** The error is a worker fault (threw, exited, hung), which the runtime can recover from. */
    workerFault: () => false,
    /** Every host is vacated (or lost): there is nowhere to compute. */
    noHostAvailable: () => false,
    /** A worker that holds rows failed and no recovery has taken it up yet. */
    workerLostUnnoticed: () => false,
    /** The pending events can be applied by a hand-off while computing (see `computing.handingOff`). */
    handOffPossible: () => false,
    /** The pending events can be applied by a hand-off between passes (see `idle.handingOff`). */
    handOffPossibleBetweenPasses: () => false,
    /** A hand-off was launched by the runtime before the machine heard of it (see `idle.handingOff`). */
    handOffLaunched: () => false,
    /** A hand-off between passes failed because a worker did: recover before anything else. */
    handOffFault: () => false,
    /** A vacate is pending between passes (the owner's word is obeyed at once, see `idle.redistributing`). */
    vacateDue: () => false,
    /** A `pass` came during a move between passes and waits for it to end. */
    passWaiting: ({ context }) => context.passWaiting,
  },
  actions: {
    requestStop: () => {},
    /** A `pass` event's parameters: a new pass, not yet started. */
    takePass: assign(({ event }) => newPass(event as PassEvent, false)),
    /** The same, in a state the pass must wait out (a move between passes): it starts after. */
    holdPass: assign(({ event }) => newPass(event as PassEvent, true)),
    /**
     * The held pass is under way: the flag must not outlive it. Left set, the next move
     * between passes ended in \`#pass.checking\` as if a pass were waiting, and computed one
     * nobody asked for, with the last pass's parameters and outcome; the real \`pass\`, sent
     * meanwhile, was dropped and settled with that result (found by the soak).
     */
    heldPassTaken: assign({ passWaiting: false }),
    reportOutcome: emit(({ context }) => ({ type: 'passDone' as const, output: outputOf(context) })),
    /**
     * A \`pass\` where none can start or wait (the machine is in a pass): a bug, made loud.
     * Dropped, that pass was settled by the outcome of the one under way (\`heldPassTaken\`).
     */
    refusePass: emit(() => ({
      type: 'passDone' as const,
      output: {
        acc: null,
        gaveUp: false,
        cancelled: false,
        failure: new Error('internal error: a pass was sent while the pass machine was in another pass'),
      },
    })),
    /**
     * Start one round of computing on every worker with data (`params`, `fresh`: clear the
     * processed flags first); its outcome comes back as `slice.done` or `slice.failed`. An
     * action and two events rather than an invoked actor: a child actor per slice cost the
     * coordinator time to make and tear down every pass, in series with the workers.
     */
    startSlice: (_, _params: { params: Float64Array; fresh: boolean }) => {},
  },
  delays: {
    waitTimeout: ({ context }) => context.waitTimeoutMs,
  },
}).createMachine({
  id: 'pass',
  context: ({ input }) => ({
    params: new Float64Array(0),
    waitTimeoutMs: input.waitTimeoutMs,
    acc: null,
    fresh: true,
    gaveUp: false,
    cancelled: false,
    failure: undefined,
    passWaiting: false,
  }),
  initial: 'idle',
  on: { cancel: { actions: assign({ cancelled: true }) }, pass: { actions: 'refusePass' } },
  states: {
    // Between passes. Events wait in the runtime's queue and the next pass looks at them first,
    // except a vacate: the vacated host is waiting, and the app between passes may take longer
    // than the move. Its rows are handed over if they can be (`handingOff`), else moved.
    idle: {
      initial: 'quiet',
      states: {
        quiet: {
          on: {
            // A worker failed with no request in flight: recovered now, not at the next pass.
            'worker.lost': { target: 'recovering' },
            'scheduler.event': [
              { guard: 'handOffPossibleBetweenPasses', target: 'handingOff' },
              { guard: 'vacateDue', target: 'redistributing' },
            ],
            pass: [
              {
                guard: 'handOffLaunched',
                target: 'handingOff',
                actions: 'holdPass',
              },
              { target: '#pass.checking', actions: 'takePass' },
            ],
          },
        },
        // The next pass waits for the rows: its requests would otherwise race them.
        handingOff: {
          on: { pass: { actions: 'holdPass' } },
          invoke: {
            src: 'handOff',
            onDone: [
              { guard: 'handOffFault', target: 'recovering' },
              { guard: 'handOffPossibleBetweenPasses', target: 'handingOff', reenter: true },
              { guard: 'vacateDue', target: 'redistributing' },
              { guard: 'passWaiting', target: '#pass.checking' },
              { target: 'quiet' },
            ],
          },
        },
        // The move's outcome (every host vacated included) is the next pass's to act on.
        redistributing: {
          on: { pass: { actions: 'holdPass' } },
          invoke: {
            src: 'redistributeBetweenPasses',
            onDone: [
              { guard: 'vacateDue', target: 'redistributing', reenter: true },
              { guard: 'passWaiting', target: '#pass.checking' },
              { target: 'quiet' },
            ],
            onError: [
              { guard: 'workerFault', target: 'recovering' },
              {
                guard: 'passWaiting',
                target: '#pass.failed',
                actions: assign({ failure: ({ event }) => event.error }),
              },
              { target: 'failed', actions: assign({ failure: ({ event }) => event.error }) },
            ],
          },
        },
        // Rows on their way when a worker failed are nowhere now: reloaded before anything
        // else (waiting for the next pass would leave them missing meanwhile).
        recovering: {
          on: { pass: { actions: 'holdPass' } },
          invoke: {
            src: 'recoverBetweenPasses',
            onDone: [
              // The rows have nowhere to go yet: a pass waiting for them waits for a host.
              {
                guard: ({ event, context }) => event.output.noHostAvailable && context.passWaiting,
                target: '#pass.waitingToRecover',
              },
              { guard: ({ event }) => event.output.noHostAvailable, target: 'recoveryDue' },
              { guard: 'passWaiting', target: '#pass.checking' },
              { target: 'quiet' },
            ],
            onError: [
              { guard: 'workerFault', target: 'recovering', reenter: true },
              {
                guard: 'passWaiting',
                target: '#pass.failed',
                actions: assign({ failure: ({ event }) => event.error }),
              },
              { target: 'recoveryDue' },
            ],
          },
        },
        // That recovery could not place the rows (no worker left to take them): the next pass
        // recovers first (a host given back meanwhile takes them), and fails if it still cannot.
        recoveryDue: {
          on: {
            pass: { target: '#pass.recovering', actions: 'takePass' },
            // An event may give a host back (or be a vacate, which must not wait for a pass).
            'scheduler.event': { target: 'recovering' },
            'worker.lost': { target: 'recovering' },
          },
        },
        // A move between passes failed, not for a worker's fault: the next pass fails with it.
        failed: {
          on: {
            pass: { target: '#pass.failed', actions: assign(({ event }) => ({ params: event.params })) },
          },
        },
      },
    },
    checking: {
      entry: 'heldPassTaken',
      always: [
        { guard: 'eventsPending', target: 'redistributing' },
        // Every host was vacated and the data had nowhere to go: wait, never compute there.
        { guard: 'noHostAvailable', target: 'waitingForHost' },
        { guard: 'rebalanceDue', target: 'redistributing' },
        { target: 'computing' },
      ],
    },
    // Left only on its slice's own outcome, so no outcome can arrive from an earlier slice.
    computing: {
      initial: 'running',
      entry: {
        type: 'startSlice',
        params: ({ context }) => ({ params: context.params, fresh: context.fresh }),
      },
      on: {
        'slice.done': [
          // The common end of a pass: straight back to `idle` (one step rather than two
          // through `done`; the coordinator waits on this step after every pass).
          {
            guard: ({ event }) => event.output.complete,
            target: 'idle',
            actions: [
              assign({
                acc: ({ context, event }) => addInto(context.acc, event.output.acc),
                fresh: false,
              }),
              'reportOutcome',
            ],
          },
          {
            target: 'redistributing',
            actions: assign({
              acc: ({ context, event }) => addInto(context.acc, event.output.acc),
              fresh: false,
            }),
          },
        ],
        'slice.failed': [
          { guard: 'workerFault', target: 'recovering' },
          { target: 'failed', actions: assign({ failure: ({ event }) => event.error }) },
        ],
      },
      states: {
        running: {
          on: {
            'scheduler.event': [
              { guard: 'handOffPossible', target: 'handingOff' },
              { target: 'migrationPending', actions: 'requestStop' },
            ],
          },
        },
        migrationPending: {},
        // The slice goes on meanwhile; its end waits for the hand-off, whose rows it counts.
        // Events that came in during it are looked at once it is done.
        handingOff: {
          invoke: {
            src: 'handOff',
            onDone: [
              { guard: 'handOffPossible', target: 'handingOff', reenter: true },
              { guard: 'eventsPending', target: 'migrationPending', actions: 'requestStop' },
              { target: 'running' },
            ],
          },
        },
      },
    },
    redistributing: {
      invoke: {
        src: 'redistribute',
        onDone: [
          // Events that came in while redistributing first: one may be the host coming back.
          { guard: 'eventsPending', target: 'redistributing', reenter: true },
          { guard: ({ event }) => event.output.noHostAvailable, target: 'waitingForHost' },
          { target: 'computing' },
        ],
        onError: [
          { guard: 'workerFault', target: 'recovering' },
          { target: 'failed', actions: assign({ failure: ({ event }) => event.error }) },
        ],
      },
    },
    // A worker failed: its exemplars are reloaded from the source onto the others and the
    // pass starts over, so every exemplar is still counted exactly once. Events that came in
    // meanwhile are applied before computing (a vacate must not wait a whole pass).
    recovering: {
      invoke: {
        src: 'recover',
        onDone: [
          { guard: ({ event }) => event.output.noHostAvailable, target: 'waitingToRecover' },
          { target: 'checking', actions: assign({ acc: null, fresh: true }) },
        ],
        onError: [
          { guard: 'workerFault', target: 'recovering', reenter: true },
          { target: 'failed', actions: assign({ failure: ({ event }) => event.error }) },
        ],
      },
    },
    // Every host is vacated, or those left have no room. The timeout counts from when that
    // began (the runtime supplies the remaining time), so events that change nothing do not
    // restart it.
    waitingForHost: {
      always: [
        { guard: ({ context }) => context.cancelled, target: 'done', actions: assign({ gaveUp: true }) },
        // A worker that holds rows failed with no request to tell (between passes, say).
        { guard: 'workerLostUnnoticed', target: 'recovering' },
      ],
      on: {
        'scheduler.event': { target: 'redistributing' },
        // A worker holding rows failed meanwhile (no request told us): recover them first.
        'worker.lost': { target: 'recovering' },
      },
      after: { waitTimeout: { target: 'done', actions: assign({ gaveUp: true }) } },
    },
    // A failed worker's rows had nowhere to go (every other host vacated, failed or full):
    // as in `waitingForHost`, an event may bring a host, and recovery is tried again; the
    // timeout counts from when the wait began. Given up, the next pass recovers first.
    waitingToRecover: {
      entry: 'heldPassTaken',
      always: [
        {
          guard: ({ context }) => context.cancelled,
          target: 'gaveUpRecovering',
          actions: assign({ gaveUp: true }),
        },
        { guard: 'workerLostUnnoticed', target: 'recovering' },
      ],
      on: { 'scheduler.event': { target: 'recovering' }, 'worker.lost': { target: 'recovering' } },
      after: { waitTimeout: { target: 'gaveUpRecovering', actions: assign({ gaveUp: true }) } },
    },
    gaveUpRecovering: { entry: 'reportOutcome', always: { target: '#pass.idle.recoveryDue' } },
    // A pass that failed or gave up waiting for a host: its outcome goes out and the machine
    // waits for the next (a complete pass goes straight from `computing` to `idle`).
    failed: { entry: ['heldPassTaken', 'reportOutcome'], always: { target: 'idle' } },
    done: { entry: 'reportOutcome', always: { target: 'idle' } },
  },
});
