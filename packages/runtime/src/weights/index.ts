// Safetensors reading and writing: headers only on open, one tensor's bytes per read.
export { SafetensorsError, type SafetensorsErrorCode } from './errors.js';
export {
  type SafetensorsDtype,
  type RawTypedArray,
  SAFETENSORS_DTYPES,
  isSafetensorsDtype,
  dtypeByteSize,
  elementCount,
  f16BitsToF32,
  bf16BitsToF32,
  f32ToF16Bits,
  f32ToBf16Bits,
} from './dtypes.js';
export { type TensorInfo, MAX_HEADER_BYTES } from './header.js';
export type { TensorSource } from './tensor-source.js';
export { SafetensorsFile } from './safetensors-file.js';
export { SafetensorsIndex, SINGLE_FILE_NAME, INDEX_FILE_NAME } from './safetensors-index.js';
export {
  SafetensorsWriter,
  writeSafetensors,
  type TensorDeclaration,
  type SafetensorsWriterOptions,
} from './safetensors-writer.js';
