import type { InspectionEvent } from 'xstate';
import type { StateTransition } from './report-types.ts';

/** The first this-many transitions are kept for the report; later ones still reach `onTransition`. */
const TRANSITION_LIMIT = 5000;

/**
 * The states a job's machines entered, in order, from xstate's inspection events: one
 * entry per change of an actor's state (snapshots that repeat a state are not recorded).
 */
export class TransitionLog {
  private readonly kept: StateTransition[] = [];
  private readonly lastState = new Map<string, string>();

  constructor(
    private readonly clock: () => number,
    private readonly onTransition?: (t: StateTransition) => void,
  ) {}

  /** Pass as `createActor(…, { inspect })`. */
  readonly inspect = (e: InspectionEvent): void => {
    if (e.type !== '@xstate.snapshot') return;
    const snapshot = e.snapshot as { value?: unknown };
    if (snapshot.value === undefined) return;
    const state = typeof snapshot.value === 'string' ? snapshot.value : JSON.stringify(snapshot.value);
    const actor = (e.actorRef as { id?: string }).id ?? 'actor';
    if (this.lastState.get(actor) === state) return;
    this.lastState.set(actor, state);
    const t = { at: this.clock(), actor, state };
    if (this.kept.length < TRANSITION_LIMIT) this.kept.push(t);
    this.onTransition?.(t);
  };

  transitions(): readonly StateTransition[] {
    return this.kept;
  }
}
