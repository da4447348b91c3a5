/**
 * Fixed text of the Llama 3.2 Vision Instruct chat template (Meta's published template, see
 * tokenizer/llama-3.2-vision-chat-template.jinja). Kept verbatim: a changed character changes
 * the tokens the model was trained on.
 */
export const BOS = '<|begin_of_text|>';
export const EOT = '<|eot_id|>';
export const IMAGE = '<|image|>';
export const PYTHON_TAG = '<|python_tag|>';

export function header(role: string): string {
  return `<|start_header_id|>${role}<|end_header_id|>\n\n`;
}

export const ENVIRONMENT_IPYTHON = 'Environment: ipython\n';
export const KNOWLEDGE_CUTOFF = 'Cutting Knowledge Date: December 2023\n';

export function todayLine(date: string): string {
  return `Today Date: ${date}\n\n`;
}

const RESPOND_FORMAT =
  'Respond in the format {"name": function name, "parameters": dictionary of argument name and its value}.' +
  'Do not use variables.\n\n';

/** Tool instructions when the tools go into the system turn (tools_in_user_message = false). */
export const SYSTEM_TOOLS_PREAMBLE =
  'You have access to the following functions. To call a function, please respond with JSON for a function call.' +
  RESPOND_FORMAT;

/** Tool instructions when the tools go into the first user turn (the template's default). */
export const USER_TOOLS_PREAMBLE =
  'Given the following functions, please respond with a JSON for a function call ' +
  'with its proper arguments that best answers the given prompt.\n\n' +
  RESPOND_FORMAT;
