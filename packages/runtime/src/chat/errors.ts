import { LookoutError } from '@lookout/tools/errors';

/** Errors raised while rendering a chat into the Llama prompt format. */
export type ChatFormatErrorCode =
  | 'CHAT_BAD_MESSAGE'
  | 'CHAT_TOOLS_NEED_USER_MESSAGE'
  | 'CHAT_BAD_TOOL'
  | 'CHAT_BAD_TOOL_CALL'
  | 'CHAT_BAD_DATE';

export class ChatFormatError extends LookoutError<ChatFormatErrorCode> {}
