import { assign, setup } from 'xstate';

/**
 * The state of one worker as the coordinator sees it. Processes need not be in the same
 * state (ADM paper §2.3); `redistribute` is the consensus step that brings all of them
 * into `redistributing` together. A worker with no data is `inactive` until it is given
 * some again. `computing` lasts from pass to pass while nothing interrupts the passes; a
 * stop, a slice that ends before its pass, or a redistribution ends it.
 */
export const workerMachine = setup({
  types: {
    input: {} as { host: string },
    context: {} as { host: string; held: number },
    events: {} as
      | { type: 'compute' }
      | { type: 'stop' }
      | { type: 'sliceDone' }
      | { type: 'redistribute' }
      | { type: 'holding'; count: number }
      | { type: 'lost' },
  },
  actions: {
    setHeld: assign({
      held: ({ context, event }) => (event.type === 'holding' ? event.count : context.held),
    }),
  },
  guards: {
    hasData: ({ context }) => context.held > 0,
  },
}).createMachine({
  id: 'worker',
  context: ({ input }) => ({ host: input.host, held: 0 }),
  initial: 'idle',
  on: {
    // The worker threw, exited or hung: the coordinator gave up on it for good.
    lost: { target: '.lost' },
    redistribute: { target: '.redistributing' },
    holding: { actions: 'setHeld' },
  },
  states: {
    idle: {
      on: {
        compute: [{ guard: 'hasData', target: 'computing' }, { target: 'inactive' }],
      },
    },
    computing: {
      on: { stop: { target: 'migrationPending' }, sliceDone: { target: 'idle' } },
    },
    migrationPending: {
      on: { sliceDone: { target: 'idle' } },
    },
    redistributing: {
      on: {
        holding: [
          { guard: ({ event }) => event.count > 0, target: 'idle', actions: 'setHeld' },
          { target: 'inactive', actions: 'setHeld' },
        ],
      },
    },
    inactive: {
      on: {
        compute: [{ guard: 'hasData', target: 'computing' }],
      },
    },
    // Deeper handlers win over the machine-level ones: a lost worker ignores everything.
    lost: { on: { redistribute: {}, holding: {}, compute: {}, lost: {} } },
  },
});
