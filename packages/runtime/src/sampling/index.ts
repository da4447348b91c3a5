// Sampling on the JS side: logits processors, samplers, log-probabilities, the seeded PRNG.
// Used by generation/ (the token loops) and onnx/ (the engine's first token of a chunk).
export { InvalidSamplingError } from './errors.js';
export { createSampler, validateSampling, sampleCategorical, type Sampler } from './sampler.js';
export { applyRepetitionPenalty, applyTemperature, applyTopK, applyTopP } from './processors.js';
export { logSoftmax, logSumExp, tokenLogprobs, type IdLogprob } from './logprobs.js';
export { seededRandom, type Random } from './prng.js';
export { argmax, topIndices } from './top-indices.js';
