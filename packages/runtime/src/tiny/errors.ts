export type TinyCheckpointErrorCode = 'TINY_OPTIONS_INVALID';

export class TinyCheckpointError extends Error {
  override readonly name = 'TinyCheckpointError';
  constructor(
    readonly code: TinyCheckpointErrorCode,
    message: string,
    /** The option that was wrong, e.g. "heads" or "vision.layers". */
    readonly option?: string,
  ) {
    super(message);
  }
}
