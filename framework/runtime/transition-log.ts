import type { AnyActorRef } from 'xstate';
import type { StateTransition } from './report-types.ts';

/** The first this-many transitions are kept for the report; later ones still reach `onTransition`. */
const TRANSITION_LIMIT = 5000;

/**
 * The states a job's machines entered, in order: one entry per change of an actor's state
 * (snapshots that repeat a state are not recorded). Fed by subscribing to each actor, not
 * by xstate's inspection API: an inspected actor builds an inspection event for every event,
 * microstep and action, which doubled the cost of the pass machine's steps, paid on the
 * coordinator after every pass.
 */
export class TransitionLog {
  private readonly kept: StateTransition[] = [];
  private readonly lastState = new Map<string, string>();

  constructor(
    private readonly clock: () => number,
    private readonly onTransition?: (t: StateTransition) => void,
  ) {}

  /**
   * Records `actor`'s states from now on, under its id, starting with the one it is in (call
   * right after `start()`).
   */
  follow(actor: AnyActorRef): void {
    const name = actor.id;
    this.record(name, actor.getSnapshot());
    // An actor's error is its owner's to handle (the pass machine's: AdmJob); the log only
    // records states, and an observer without an error handler would make xstate report it as unhandled.
    actor.subscribe({ next: (snapshot: unknown) => this.record(name, snapshot), error: () => {} });
  }

  transitions(): readonly StateTransition[] {
    return this.kept;
  }

  private record(actor: string, snapshot: unknown): void {
    const value = (snapshot as { value?: unknown }).value;
    if (value === undefined) return;
    const state = typeof value === 'string' ? value : JSON.stringify(value);
    if (this.lastState.get(actor) === state) return;
    this.lastState.set(actor, state);
    const t = { at: this.clock(), actor, state };
    if (this.kept.length < TRANSITION_LIMIT) this.kept.push(t);
    this.onTransition?.(t);
  }
}
