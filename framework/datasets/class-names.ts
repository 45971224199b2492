/**
 * Maps label text to class indices. While reading, each new label gets a provisional index in
 * order of first appearance; `finish` then sorts the names — numerically when every name is a
 * number (so `2` < `10`), otherwise by UTF-16 code unit (locale-independent, so the same file
 * gives the same indices on every machine) — and rewrites the provisional labels in place.
 */
export class ClassNames {
  private readonly indexOf = new Map<string, number>();
  private readonly names: string[] = [];

  get size(): number {
    return this.names.length;
  }

  /** The provisional index of `name`, adding it if new. */
  add(name: string): number {
    let index = this.indexOf.get(name);
    if (index === undefined) {
      index = this.names.length;
      this.indexOf.set(name, index);
      this.names.push(name);
    }
    return index;
  }

  /** The first name seen, for messages. */
  first(): string | undefined {
    return this.names[0];
  }

  /** Sorts the classes, rewrites every label array from provisional to final indices. */
  finish(labelArrays: readonly Int32Array[]): string[] {
    const order = this.names.map((name, index) => ({ name, index }));
    if (this.names.every(isNumeric)) {
      order.sort((a, b) => Number(a.name) - Number(b.name) || compareText(a.name, b.name));
    } else {
      order.sort((a, b) => compareText(a.name, b.name));
    }
    const finalIndex = new Int32Array(order.length);
    order.forEach((entry, k) => {
      finalIndex[entry.index] = k;
    });
    for (const labels of labelArrays) {
      for (let i = 0; i < labels.length; i++) labels[i] = finalIndex[labels[i]];
    }
    return order.map((entry) => entry.name);
  }
}

const NUMERIC = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function isNumeric(name: string): boolean {
  return NUMERIC.test(name);
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
