import { LookoutError } from '@lookout/tools/errors';

/** Stable codes for everything that can go wrong reading or writing safetensors files. */
export type SafetensorsErrorCode =
  | 'SAFETENSORS_NOT_FOUND'
  | 'SAFETENSORS_HEADER_INVALID'
  | 'SAFETENSORS_TENSOR_NOT_FOUND'
  | 'SAFETENSORS_DTYPE_UNSUPPORTED'
  | 'SAFETENSORS_PRECISION_LOSS'
  | 'SAFETENSORS_INDEX_INVALID'
  | 'SAFETENSORS_WRITE_INVALID'
  | 'SAFETENSORS_CLOSED'
  | 'SAFETENSORS_TRUNCATED';

export class SafetensorsError extends LookoutError<SafetensorsErrorCode> {
  constructor(
    code: SafetensorsErrorCode,
    message: string,
    /** The file involved, when there is one. */
    readonly file?: string,
    /** The tensor (or header field) involved, when there is one. */
    readonly tensor?: string,
  ) {
    super(code, message);
  }
}
