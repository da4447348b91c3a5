/** Stable codes for errors raised by the AI SDK adapter. */
export type AiSdkErrorCode = 'ai-sdk-invalid-options';

export class AiSdkGuardError extends Error {
  constructor(
    readonly code: AiSdkErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'AiSdkGuardError';
  }
}
