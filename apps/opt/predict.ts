import { createSimdKernel } from './model/simd-kernel.ts';
import type { OptModel } from './model-file.ts';

/**
 * Classes of `count` rows of raw features, after the model's own standardisation, through
 * the SIMD kernel's `predict`: the code that scored the test rows of the run that saved the
 * model (the default kernel), so a row near a tie gets the class it got there.
 */
export function predictWithModel(model: OptModel, features: Float32Array, count: number): Int32Array {
  const dim = model.shape.inputs;
  let input = features;
  const s = model.standardisation;
  if (s) {
    input = new Float32Array(features.length);
    for (let r = 0; r < count; r++) {
      for (let j = 0; j < dim; j++) input[r * dim + j] = (features[r * dim + j] - s.mean[j]) / s.std[j];
    }
  }
  return createSimdKernel(model.shape).predict(input, count, dim, Float64Array.from(model.weights));
}
