import { predictClasses } from './model/index.ts';
import type { OptModel } from './model-file.ts';

/** Classes of `count` rows of raw features, after the model's own standardisation. */
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
  return predictClasses(model.shape, Float64Array.from(model.weights), input, count, dim);
}
