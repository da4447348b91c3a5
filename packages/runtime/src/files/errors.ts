import { LookoutError } from '@lookout/tools/errors';

/** Stable codes for problems with the files of a model directory. */
export type ModelFileErrorCode =
  /** A required file is absent (or the directory itself). */
  | 'MODEL_FILE_MISSING'
  /** A file exists but is not readable JSON. */
  | 'MODEL_FILE_INVALID_JSON'
  /** A field is missing, of the wrong type, or out of range. */
  | 'MODEL_CONFIG_INVALID'
  /** The config describes an architecture Lookout does not run. */
  | 'MODEL_ARCH_UNSUPPORTED'
  /** The checkpoint's tensor names or shapes disagree with config.json. */
  | 'MODEL_WEIGHTS_MISMATCH';

export class ModelFileError extends LookoutError<ModelFileErrorCode> {
  constructor(
    code: ModelFileErrorCode,
    message: string,
    /** The file involved. */
    readonly file: string,
    /** Dotted path of the offending field, e.g. "text_config.hidden_size". */
    readonly field?: string,
  ) {
    super(code, message);
  }
}
