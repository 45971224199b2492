/**
 * Declared host speeds. They are relative (a host of speed 4 is four times one of speed 1),
 * so any range of real hosts fits between MIN_SPEED and MAX_SPEED; outside it the arithmetic
 * that turns speeds into shares and emulated rates leaves floating point (a speed of 1e-310
 * made a job's only worker hold no rows, and a hostfile's 1e-320 a worker that sleeps forever).
 */
export const MIN_SPEED = 1e-3;
export const MAX_SPEED = 1e6;

/** Why `speed` cannot be a declared speed, or null. */
export function speedProblem(speed: number): string | null {
  if (!(Number.isFinite(speed) && speed > 0)) return 'must be a number > 0';
  if (speed < MIN_SPEED || speed > MAX_SPEED)
    return `must be between ${MIN_SPEED} and ${MAX_SPEED} (speeds are relative: 1 and 4 are two hosts, one four times as fast)`;
  return null;
}

/** A speed written in decimal (`2`, `0.5`, `1e3`), or NaN: `Number` would also take `0x10` and `0b1`. */
export function parseSpeed(text: string): number {
  return /^(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(text.trim()) ? Number(text) : Number.NaN;
}

/** A declared speed as typed (a flag, a hostfile): the number, or why it cannot be one. */
export function readSpeed(text: string): number | string {
  const speed = parseSpeed(text);
  return speedProblem(speed) ?? speed;
}

/** A host's declared speed, checked where a job takes its hosts (a RangeError naming the host). */
export function checkHostSpeed(host: { readonly name: string; readonly speed: number }): void {
  const why = speedProblem(host.speed);
  if (why !== null) throw new RangeError(`host ${host.name}: speed ${host.speed} ${why}`);
}
