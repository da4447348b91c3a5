import { LookoutError } from '@lookout/tools/errors';

export type TinyCheckpointErrorCode = 'TINY_OPTIONS_INVALID';

export class TinyCheckpointError extends LookoutError<TinyCheckpointErrorCode> {
  constructor(
    code: TinyCheckpointErrorCode,
    message: string,
    /** The option that was wrong, e.g. "heads" or "vision.layers". */
    readonly option?: string,
  ) {
    super(code, message);
  }
}
