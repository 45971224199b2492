import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ExemplarColumns } from '../../framework/exemplars/columns.ts';
import { decodeExemplars, exemplarStreamParts, SchemaMismatch } from '../../framework/exemplars/ipc.ts';
import { columnsFromTemplate, streamPartsFromTemplate } from '../../framework/exemplars/ipc-template.ts';
import { seededColumns } from '../fixtures/ipc-columns.ts';

const arrowParts = (f: ExemplarColumns) => exemplarStreamParts([f], f.dim);

function joined(parts: readonly Uint8Array[], offset = 0): Uint8Array {
  const n = parts.reduce((s, p) => s + p.byteLength, 0);
  const out = new Uint8Array(new ArrayBuffer(offset + n), offset, n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/** Bit-exact copies of every column, for comparing decoded rows. */
function plain(c: ExemplarColumns) {
  return {
    count: c.count,
    dim: c.dim,
    ids: [...c.ids],
    labels: [...c.labels],
    features: [...new Uint32Array(c.features.buffer, c.features.byteOffset, c.features.length)],
    processed: [...c.processed],
  };
}

/** decodeExemplars (arrow-js), counting its calls. */
function countingReader(dim: number) {
  const r = {
    reads: 0,
    read: (b: Uint8Array) => {
      r.reads++;
      return decodeExemplars(b, dim);
    },
  };
  return r;
}

describe('streams from templates', () => {
  it('writes exactly the bytes arrow-js writes, for every shape, the second time too', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 120 }),
        fc.integer({ min: 1, max: 1e6 }),
        async (dim, count, seed) => {
          for (const s of [seed, seed + 1, seed + 2]) {
            const f = seededColumns(count, dim, s, s);
            const templated = await streamPartsFromTemplate(f, arrowParts);
            expect(joined(templated)).toEqual(joined(await arrowParts(f)));
          }
        },
      ),
      { numRuns: 25 },
    );
  });

  it('sends the columns as views of the batch, never copies', async () => {
    const a = seededColumns(50, 7, 1);
    const b = seededColumns(50, 7, 2, 50);
    await streamPartsFromTemplate(a, arrowParts);
    const parts = await streamPartsFromTemplate(b, arrowParts);
    expect(parts.some((p) => p.buffer === b.features.buffer && p.byteOffset === b.features.byteOffset)).toBe(
      true,
    );
    expect(parts.some((p) => p.buffer === a.features.buffer)).toBe(false);
  });

  it('reads what arrow-js reads, as views of the body, without calling it again', async () => {
    const dim = 9;
    const reader = countingReader(dim);
    const read = reader.read;
    const first = joined(await arrowParts(seededColumns(120, dim, 3)));
    columnsFromTemplate(first, dim, read);
    expect(reader.reads).toBe(1);
    for (const seed of [4, 5, 6]) {
      const body = joined(await arrowParts(seededColumns(120, dim, seed, seed * 1000)));
      const [cols] = columnsFromTemplate(body, dim, read);
      expect(plain(cols)).toEqual(plain(decodeExemplars(body, dim)[0]));
      expect(cols.features.buffer).toBe(body.buffer);
    }
    expect(reader.reads).toBe(1);
  });

  it('sends a stream whose metadata differs in one byte through arrow-js and its checks', async () => {
    const dim = 6;
    const reader = countingReader(dim);
    const read = reader.read;
    const good = joined(await arrowParts(seededColumns(30, dim, 7)));
    columnsFromTemplate(good, dim, read);
    // The same length, one field renamed ('features' → 'featurez') in the schema message.
    const bad = joined(await arrowParts(seededColumns(30, dim, 8)));
    const at = Buffer.from(bad).indexOf('features');
    expect(at).toBeGreaterThan(0);
    bad[at + 7] = 'z'.charCodeAt(0);
    expect(() => columnsFromTemplate(bad, dim, read)).toThrow(SchemaMismatch);
    expect(reader.reads).toBe(2);
  });

  it('reads a body at another alignment through arrow-js', async () => {
    const dim = 5;
    const reader = countingReader(dim);
    const read = reader.read;
    const parts = await arrowParts(seededColumns(40, dim, 9));
    columnsFromTemplate(joined(parts), dim, read);
    const shifted = joined(parts, 4);
    const out = columnsFromTemplate(shifted, dim, read);
    expect(reader.reads).toBe(2);
    expect(plain(out[0])).toEqual(plain(seededColumns(40, dim, 9)));
  });
});
