import { assign, fromPromise, setup } from 'xstate';

/**
 * Opt's own states, as an explicit xstate machine. The coordinator holds the net and the
 * conjugate-gradient state; `step` takes one CG iteration, whose error-and-gradient
 * evaluations are data passes run by the framework (with its migration states); `test`
 * scores the weights between iterations (test accuracy, and the validation error, which
 * keeps the best weights and may say that patience has run out: the run then stops early).
 * There is no migration logic here: that lives in the framework's pass machine, which
 * every pass goes through.
 */
export interface OptMachineInput {
  readonly maxIterations: number;
  /** Iterations already done (when resuming from a checkpoint). */
  readonly startIteration?: number;
  /** The checkpoint resumed from was written as patience ran out: there is nothing to do. */
  readonly stoppedEarly?: boolean;
}

export interface IterationResult {
  readonly error: number;
  readonly converged: boolean;
}

/** What `test` found after an iteration. */
export interface ScoreResult {
  readonly testAccuracy: number;
  /** Error and accuracy on the validation rows; null without them. */
  readonly validation: { readonly error: number; readonly accuracy: number } | null;
  /** `--patience` iterations without a lower validation error, past the trace's end. */
  readonly stopEarly: boolean;
}

interface OptContext {
  readonly maxIterations: number;
  iteration: number;
  error: number;
  converged: boolean;
  testAccuracy: number;
  stoppedEarly: boolean;
  failure: unknown;
}

export interface OptOutput {
  readonly iterations: number;
  readonly error: number;
  readonly testAccuracy: number;
  readonly converged: boolean;
  /** Ended by `--patience`, before `maxIterations`. */
  readonly stoppedEarly: boolean;
  /** The error that stopped training, if any (the runner rethrows it). */
  readonly failure: unknown;
}

export const optMachine = setup({
  types: {
    input: {} as OptMachineInput,
    context: {} as OptContext,
    output: {} as OptOutput,
  },
  actors: {
    step: fromPromise<IterationResult, { iteration: number }>(async () => {
      throw new Error('step is supplied by the runner');
    }),
    test: fromPromise<ScoreResult, { iteration: number }>(async () => {
      throw new Error('test is supplied by the runner');
    }),
  },
  actions: {
    iterationDone: (
      _,
      _params: {
        iteration: number;
        error: number;
        testAccuracy: number;
        validation: ScoreResult['validation'];
      },
    ) => {},
  },
  guards: {
    finished: ({ context }) =>
      context.converged || context.stoppedEarly || context.iteration >= context.maxIterations,
  },
}).createMachine({
  id: 'opt',
  context: ({ input }) => ({
    maxIterations: input.maxIterations,
    iteration: input.startIteration ?? 0,
    error: Number.NaN,
    converged: false,
    testAccuracy: Number.NaN,
    stoppedEarly: input.stoppedEarly ?? false,
    failure: undefined,
  }),
  initial: 'deciding',
  states: {
    deciding: {
      always: [{ guard: 'finished', target: 'done' }, { target: 'training' }],
    },
    training: {
      invoke: {
        src: 'step',
        input: ({ context }) => ({ iteration: context.iteration + 1 }),
        onDone: {
          target: 'testing',
          actions: assign({
            iteration: ({ context }) => context.iteration + 1,
            error: ({ event }) => event.output.error,
            converged: ({ event }) => event.output.converged,
          }),
        },
        onError: { target: 'failed', actions: assign({ failure: ({ event }) => event.error }) },
      },
    },
    testing: {
      invoke: {
        src: 'test',
        input: ({ context }) => ({ iteration: context.iteration }),
        onDone: {
          target: 'deciding',
          actions: [
            assign({
              testAccuracy: ({ event }) => event.output.testAccuracy,
              stoppedEarly: ({ event }) => event.output.stopEarly,
            }),
            {
              type: 'iterationDone',
              params: ({ context, event }) => ({
                iteration: context.iteration,
                error: context.error,
                testAccuracy: event.output.testAccuracy,
                validation: event.output.validation,
              }),
            },
          ],
        },
        onError: { target: 'failed', actions: assign({ failure: ({ event }) => event.error }) },
      },
    },
    failed: { type: 'final' },
    done: { type: 'final' },
  },
  output: ({ context }) => ({
    iterations: context.iteration,
    error: context.error,
    testAccuracy: context.testAccuracy,
    converged: context.converged,
    stoppedEarly: context.stoppedEarly,
    failure: context.failure,
  }),
});
