// Public surface of @lookout/runtime. Each subsystem keeps its own index; add exports there.
export * from './model/types.js';
export * from './model/engine.js';
export * from './weights/index.js';
export * from './files/index.js';
export * from './tiny/index.js';
export * from './tokenizer/index.js';
export * from './chat/index.js';
export * from './images/index.js';
export * from './onnx/index.js';
export * from './generation/index.js';
export * from './sampling/index.js';
export * from './constraints/index.js';
export * from './served/index.js';
export * from './gguf/index.js';
export { AsyncQueue } from './async/async-queue.js';
// Names defined in two subsystems: the package exports one of each explicitly.
export { MLLAMA_IMAGE_TOKEN_ID } from './tokenizer/index.js';
export { argmax } from './sampling/index.js';
// The base class of every error above (from @lookout/tools, the lowest package), for runtime's users.
export { LookoutError } from '@lookout/tools/errors';
