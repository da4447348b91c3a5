export { ChatFormatError, type ChatFormatErrorCode } from './errors.js';
export {
  renderChat,
  renderChatString,
  segmentsToString,
  toolDefinitionJson,
  toolCallText,
  toolResultText,
  type RenderChatOptions,
} from './renderChat.js';
export { formatTemplateDate } from './templateDate.js';
export { templateJson } from './templateJson.js';
export {
  parseToolCalls,
  CODE_INTERPRETER_TOOL,
  type ParsedToolCall,
  type ToolCallFormat,
  type ToolCallParseResult,
} from './parseToolCalls.js';
export { ToolCallStreamParser, type StreamMode, type ToolCallStreamEnd } from './toolCallStreamParser.js';
export { assignToolCallIds } from './toolCallIds.js';
