// ONNX builder (checkpoint -> graphs) and engine (ForwardEngine on onnxruntime-node).
export { buildModel, MANIFEST_FILE, DATA_FILE } from './build.js';
export type { BuildOptions, BuildResult, BuildManifest } from './build.js';
export type { BuildDtype, BuildProgress } from './weights.js';
export { OnnxEngine, OnnxDecodeSession, resolveBuildDir } from './engine.js';
export { providerMismatch, warnOnProviderMismatch } from './provider-fit.js';
export type { OnnxEngineOptions, PrefillOptions } from './engine.js';
export { readModelSpec, specFromConfig } from './config.js';
export type { ModelSpec, TextSpec, VisionSpec, RopeScaling } from './config.js';
export { OnnxError } from './errors.js';
export type { OnnxErrorCode } from './errors.js';
export { verifyCase, readCaseInputs, maxAbsDiff, VERIFY_TOLERANCE } from './verify.js';
export type { VerifyOptions, VerifyReport } from './verify.js';
export { chooseToken } from './token-choice.js';
export type { SampleParams } from './token-choice.js';
export { analyzeDeviceCopies, kvCacheResidency, isKvCacheTensor, parseProfile, readProfile, findProfileFiles, tensorTypeShapes, typeShapeBytes, ProfileError } from './device-copies.js';
export type { ProfileEvent, ProfileErrorCode, DeviceCopy, DeviceCopyReport, CopyTally, CopyOp, LoopExecution, KvCacheShape, KvCacheResidency, TensorTypeShape } from './device-copies.js';
