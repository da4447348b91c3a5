/** Graph I/O names of the Mllama vision graph. */
export const VisionIO = {
  pixelValues: 'pixel_values',
  aspectRatioIds: 'aspect_ratio_ids',
  aspectRatioMask: 'aspect_ratio_mask',
  crossAttentionStates: 'cross_attention_states',
  crossKey: (layer: number) => `cross_key_values.${layer}.key`,
  crossValue: (layer: number) => `cross_key_values.${layer}.value`,
};
