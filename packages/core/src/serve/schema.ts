import { z } from 'zod';

/**
 * Request bodies `lookout serve` accepts, validated with zod. Unknown fields are allowed because
 * OpenAI clients send many (user, metadata, ...); fields that would change the answer and that
 * Lookout cannot honour (n > 1) are refused.
 */
const textPart = z.object({ type: z.literal('text'), text: z.string() });
/** An assistant message's refusal (OpenAI structured outputs); read as the assistant's text. */
const refusalPart = z.object({ type: z.literal('refusal'), refusal: z.string() });
const imagePart = z.object({
  type: z.literal('image_url'),
  image_url: z.union([z.string(), z.object({ url: z.string(), detail: z.string().optional() })]),
});

const toolCall = z.object({
  id: z.string(),
  type: z.literal('function').optional(),
  function: z.object({ name: z.string().min(1), arguments: z.string() }),
});

const message = z.discriminatedUnion('role', [
  z.object({ role: z.enum(['system', 'developer']), content: z.union([z.string(), z.array(textPart)]) }),
  z.object({ role: z.literal('user'), content: z.union([z.string(), z.array(z.discriminatedUnion('type', [textPart, imagePart]))]) }),
  z.object({
    role: z.literal('assistant'),
    content: z.union([z.string(), z.array(z.discriminatedUnion('type', [textPart, refusalPart])), z.null()]).optional(),
    refusal: z.string().nullish(),
    tool_calls: z.array(toolCall).optional(),
  }),
  z.object({ role: z.literal('tool'), tool_call_id: z.string(), content: z.union([z.string(), z.array(textPart)]), name: z.string().optional() }),
]);

const tool = z.object({
  type: z.literal('function'),
  function: z.object({
    name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'tool names are 1-64 characters of A-Z, a-z, 0-9, _ . -'),
    description: z.string().optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
  }),
});

const sampling = {
  model: z.string().min(1),
  stream: z.boolean().optional(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).nullish(),
  max_tokens: z.number().int().positive().nullish(),
  max_completion_tokens: z.number().int().positive().nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  top_k: z.number().int().min(-1).nullish(),
  repetition_penalty: z.number().positive().nullish(),
  seed: z.number().int().nullish(),
  stop: z.union([z.string(), z.array(z.string()).max(16)]).nullish(),
  n: z.literal(1, { message: 'only n = 1 is supported' }).nullish(),
};

export const chatCompletionRequestSchema = z.looseObject({
  ...sampling,
  messages: z.array(message).min(1, 'messages must hold at least one message'),
  tools: z.array(tool).optional(),
  tool_choice: z
    .union([z.enum(['auto', 'none', 'required']), z.object({ type: z.literal('function'), function: z.object({ name: z.string().min(1) }) })], {
      message: 'tool_choice must be "auto", "none", "required" or {"type": "function", "function": {"name": ...}}',
    })
    .nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  logprobs: z.boolean().nullish(),
  top_logprobs: z.number().int().min(0).max(20).nullish(),
  response_format: z
    .discriminatedUnion(
      'type',
      [
        z.object({ type: z.literal('text') }),
        z.object({ type: z.literal('json_object') }),
        z.object({
          type: z.literal('json_schema'),
          json_schema: z.object({
            name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'json_schema.name is 1-64 characters of A-Z, a-z, 0-9, _ -'),
            description: z.string().optional(),
            schema: z.union([z.record(z.string(), z.unknown()), z.boolean()]).optional(),
            strict: z.boolean().nullish(),
          }),
        }),
      ],
      { message: 'response_format.type must be "text", "json_object" or "json_schema"' },
    )
    .nullish(),
});

export const completionRequestSchema = z.looseObject({
  ...sampling,
  prompt: z.string(),
  logprobs: z.number().int().min(0).max(20).nullish(),
});

export type ChatCompletionRequestBody = z.infer<typeof chatCompletionRequestSchema>;
export type CompletionRequestBody = z.infer<typeof completionRequestSchema>;

/** One line per problem, naming the field path: "messages.0.role: Invalid input ...". */
export function describeZodError(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(body)'}: ${i.message}`).join('; ');
}

/** The first problem's top-level field ("max_tokens", "messages"), for OpenAI's `param`. */
export function zodErrorParam(error: z.ZodError): string | null {
  const first = error.issues[0]?.path[0];
  return typeof first === 'string' ? first : null;
}
