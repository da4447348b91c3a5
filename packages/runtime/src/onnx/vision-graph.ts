import type { GraphBuilder } from './graph-builder.js';
import type { ModelSpec } from './config.js';
import type { WeightWriter } from './weights.js';
export function buildVisionGraph(_g: GraphBuilder, _spec: ModelSpec, _w: WeightWriter): void {
  return;
}
