/**
 * The typed arrays behind one batch of exemplars. Hot loops read these directly:
 * no object per exemplar. Row i has id `ids[i]`, label `labels[i]`, features
 * `features[i*dim .. (i+1)*dim)`, and `processed[i] = 1` once it has been counted in the
 * current pass (the flag travels with the exemplar when it moves mid-pass).
 */
export interface ExemplarColumns {
  readonly count: number;
  readonly dim: number;
  readonly ids: Int32Array;
  readonly labels: Int32Array;
  readonly features: Float32Array;
  readonly processed: Uint8Array;
}
