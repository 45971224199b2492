/**
 * The pure part of recovering from worker faults: which exemplars are missing, who takes
 * them, how the reload is accounted per failed worker. No I/O; AdmJob does the asking.
 */

/** Ids in 0..count-1 that no list holds (ascending), and how many ids are held more than once. */
export function idCensus(
  holdings: readonly Int32Array[],
  count: number,
): { missing: Int32Array; duplicated: number } {
  const seen = new Uint8Array(count);
  let duplicated = 0;
  for (const ids of holdings) {
    for (const id of ids) {
      if (seen[id] !== 0) duplicated++;
      seen[id] = 1;
    }
  }
  let n = 0;
  for (let id = 0; id < count; id++) n += 1 - seen[id];
  const missing = new Int32Array(n);
  let k = 0;
  for (let id = 0; id < count; id++) if (seen[id] === 0) missing[k++] = id;
  return { missing, duplicated };
}

/** Null when the holdings are 0..count-1 exactly once; otherwise what is wrong, in words. */
export function checkCoverage(holdings: readonly Int32Array[], count: number): string | null {
  const { missing, duplicated } = idCensus(holdings, count);
  if (missing.length === 0 && duplicated === 0) return null;
  return `${missing.length} exemplars held by no worker, ${duplicated} held twice`;
}

/**
 * Hand the `missing` ids to `receivers`, those furthest below their target first; the last
 * one takes whatever is left, so every missing id goes somewhere exactly once.
 */
export function assignMissing(
  missing: Int32Array,
  receivers: readonly number[],
  targets: readonly number[],
  held: readonly number[],
): Map<number, Int32Array> {
  const plan = new Map<number, Int32Array>();
  const needs = receivers
    .map((i) => ({ i, need: targets[i] - held[i] }))
    .sort((a, b) => b.need - a.need || a.i - b.i);
  let next = 0;
  needs.forEach(({ i, need }, k) => {
    const left = missing.length - next;
    const take = k === needs.length - 1 ? left : Math.min(Math.max(0, need), left);
    if (take <= 0) return;
    plan.set(i, missing.subarray(next, next + take));
    next += take;
  });
  return plan;
}

/**
 * Exemplars reloaded on behalf of each failed worker: what it held when it failed (as its
 * last reply said), in order, until the missing ones are all accounted for. Rows that were
 * in flight between workers at the time are counted with the first failed worker.
 */
export function attributeReloads(heldAtFailure: readonly number[], missing: number): number[] {
  let left = missing;
  const out = heldAtFailure.map((h) => {
    const n = Math.min(h, left);
    left -= n;
    return n;
  });
  if (out.length > 0) out[0] += left;
  return out;
}
