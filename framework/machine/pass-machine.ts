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
}

function addInto(acc: Float64Array | null, part: Float64Array): Float64Array {
  return acc === null ? part : addAccumulator(acc, part);
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
 * - `computing.running`: every worker with data counts its exemplars.
 * - `computing.migrationPending`: an event arrived; workers stop at their next chunk.
 * - `computing.handingOff`: a vacate arrived and the vacated workers can hand their rows
 *   straight to the others while everyone computes (threads): nobody stops.
 * - `redistributing`: global — queued events are applied, the partition is recomputed
 *   from scratch, data moves; then computing resumes where the pass stopped.
 * - `waitingForHost`: every host is vacated; wait for one to become available.
 * - `recovering`: a worker threw, exited or hung; its data is reloaded elsewhere and the
 *   pass restarts.
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
      | { type: 'cancel' }
      | { type: 'slice.done'; output: SliceResult }
      | { type: 'slice.failed'; error: unknown },
    emitted: {} as { type: 'passDone'; output: PassOutput },
  },
  actors: {
    redistribute: fromPromise<RedistributeResult, void>(async () => {
      throw new Error('redistribute is supplied by the runtime');
    }),
    recover: fromPromise<void, void>(async () => {
      throw new Error('recover is supplied by the runtime');
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
    /** The pending events can be applied by a hand-off while computing (see `handingOff`). */
    handOffPossible: () => false,
  },
  actions: {
    requestStop: () => {},
    reportOutcome: emit(({ context }) => ({ type: 'passDone' as const, output: outputOf(context) })),
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
  }),
  initial: 'idle',
  on: { cancel: { actions: assign({ cancelled: true }) } },
  states: {
    // Between passes. Events wait in the runtime's queue; the next pass looks at them first.
    idle: {
      on: {
        pass: {
          target: 'checking',
          actions: assign(({ event }) => ({
            params: event.params,
            acc: null,
            fresh: true,
            gaveUp: false,
            cancelled: event.cancelled ?? false,
            failure: undefined,
          })),
        },
      },
    },
    checking: {
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
        onDone: { target: 'checking', actions: assign({ acc: null, fresh: true }) },
        onError: [
          { guard: 'workerFault', target: 'recovering', reenter: true },
          { target: 'failed', actions: assign({ failure: ({ event }) => event.error }) },
        ],
      },
    },
    // Every host is vacated. The timeout counts from when that began (the runtime supplies
    // the remaining time), so events that change nothing do not restart it.
    waitingForHost: {
      always: {
        guard: ({ context }) => context.cancelled,
        target: 'done',
        actions: assign({ gaveUp: true }),
      },
      on: { 'scheduler.event': { target: 'redistributing' } },
      after: { waitTimeout: { target: 'done', actions: assign({ gaveUp: true }) } },
    },
    // A pass that failed or gave up waiting for a host: its outcome goes out and the machine
    // waits for the next (a complete pass goes straight from `computing` to `idle`).
    failed: { entry: 'reportOutcome', always: { target: 'idle' } },
    done: { entry: 'reportOutcome', always: { target: 'idle' } },
  },
});
