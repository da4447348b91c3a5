import { LookoutError } from '@lookout/tools';

/** Stable codes for errors raised by the AI SDK adapter. */
export type AiSdkErrorCode = 'ai-sdk-invalid-options';

export class AiSdkGuardError extends LookoutError<AiSdkErrorCode> {}
