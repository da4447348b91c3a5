export { ChatFormatError, type ChatFormatErrorCode } from './errors.js';
export {
  renderChat,
  renderChatString,
  segmentsToString,
  toolDefinitionJson,
  toolCallText,
  toolResultText,
  type RenderChatOptions,
} from './render-chat.js';
export { formatTemplateDate } from './template-date.js';
export { templateJson } from './template-json.js';
export {
  parseToolCalls,
  CODE_INTERPRETER_TOOL,
  type ParsedToolCall,
  type ToolCallFormat,
  type ToolCallParseResult,
} from './parse-tool-calls.js';
export { ToolCallStreamParser, type StreamMode, type ToolCallStreamEnd } from './tool-call-stream-parser.js';
export { assignToolCallIds } from './tool-call-ids.js';
