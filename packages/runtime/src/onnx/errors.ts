import { LookoutError } from '@lookout/tools/errors';

/** Errors of the ONNX builder and engine. Each has a stable `code` for callers to branch on. */
export type OnnxErrorCode =
  | 'ONNX_UNSUPPORTED_ARCH'
  | 'ONNX_BAD_CONFIG'
  | 'ONNX_MISSING_TENSOR'
  | 'ONNX_BAD_TENSOR'
  | 'ONNX_BAD_DTYPE'
  | 'ONNX_NOT_BUILT'
  | 'ONNX_BAD_INPUT'
  | 'ONNX_SESSION_DISPOSED'
  | 'ONNX_ABORTED'
  | 'ONNX_BAD_CASE'
  | 'ONNX_CONTEXT_EXCEEDED'
  | 'ONNX_BUILD_LOCKED';

export class OnnxError extends LookoutError<OnnxErrorCode> {}
