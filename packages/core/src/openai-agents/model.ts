import { randomUUID } from 'node:crypto';
import type { ChatMessage, ContentPart, ImageInput, LanguageModel, ModelEvent, ModelRequest, ResponseFormat, SamplingSettings, ToolCall, ToolChoice, ToolSpec, Usage as LookoutUsage } from '@lookout/runtime';
import {
  Usage,
  type AgentInputItem,
  type AgentOutputItem,
  type Model,
  type ModelProvider,
  type ModelRequest as AgentsRequest,
  type ModelResponse,
  type StreamEvent,
} from '@openai/agents-core';
import { streamStructured, type JsonWithTools } from '../ai-sdk/structured-reply.js';
import { OpenAIAgentsAdapterError } from './errors.js';

export interface LookoutAgentsModelOptions {
  /**
   * Sampling settings under the agent's `modelSettings` (which win for temperature, topP and
   * maxTokens): topK, seed, repetitionPenalty, stop strings, a default maxTokens.
   */
  sampling?: SamplingSettings;
  /**
   * An agent with both tools and an `outputType`: `'answer-pass'` (default) lets the model call
   * tools freely and constrains only its answer to the output schema (a free answer that does
   * not already match it is generated again under the schema); `'forward'` sends both to the
   * model as they are (for a served engine that handles them together). See docs/openai-agents.md.
   */
  jsonWithTools?: JsonWithTools;
}

/**
 * Any Lookout `LanguageModel` (the in-process `OnnxModel`, `OpenAICompatibleModel`,
 * `ScriptedModel`) as a `Model` of the OpenAI Agents SDK: `new Agent({ model:
 * lookoutAgentsModel(model) })`. Instructions, user messages (text and images), assistant
 * messages, function calls and their results go in; text and function calls come out, whole
 * (`getResponse`) or streamed (`getStreamedResponse`). Function tools and handoffs are offered
 * as tools; the SDK runs them. `outputType` becomes a json_schema response format and
 * `modelSettings.toolChoice` (`required`, a tool's name, `none`) the tool choice, both
 * constrained at decode time on a model that can (`capabilities.structuredOutput`).
 */
export class LookoutAgentsModel implements Model {
  constructor(
    readonly model: LanguageModel,
    private readonly options: LookoutAgentsModelOptions = {},
  ) {}

  async getResponse(request: AgentsRequest): Promise<ModelResponse> {
    const reply = new Reply();
    for await (const event of this.events(request)) reply.add(event);
    return { usage: reply.usage(), output: reply.output(), responseId: reply.id };
  }

  async *getStreamedResponse(request: AgentsRequest): AsyncIterable<StreamEvent> {
    const reply = new Reply();
    yield { type: 'response_started' };
    for await (const event of this.events(request)) {
      reply.add(event);
      if (event.type === 'text-delta' && event.text) yield { type: 'output_text_delta', delta: event.text };
      else if (event.type === 'tool-call-error') yield { type: 'output_text_delta', delta: event.raw };
    }
    const usage = reply.usage();
    yield {
      type: 'response_done',
      response: {
        id: reply.id,
        usage: {
          requests: usage.requests,
          inputTokens: usage.inputTokens,
          outputTokens: usage.outputTokens,
          totalTokens: usage.totalTokens,
          ...(usage.inputTokensDetails.length ? { inputTokensDetails: usage.inputTokensDetails[0] } : {}),
        },
        output: reply.output(),
      },
    } as StreamEvent;
  }

  private events(request: AgentsRequest): AsyncIterable<ModelEvent> {
    const lookoutRequest = toLookoutRequest(request, this.model.capabilities.structuredOutput === true, this.options.sampling);
    return streamStructured(this.model, lookoutRequest, { signal: request.signal, jsonWithTools: this.options.jsonWithTools });
  }
}

/** `new Agent({ model: lookoutAgentsModel(await OnnxModel.load(dir)) })`. */
export function lookoutAgentsModel(model: LanguageModel, options: LookoutAgentsModelOptions = {}): LookoutAgentsModel {
  return new LookoutAgentsModel(model, options);
}

/**
 * Lookout models by name for the Agents SDK's `Runner({ modelProvider })`, so agents can say
 * `model: 'llama-vision'`. An agent without a model gets the first one (or `defaultModel`).
 */
export class LookoutModelProvider implements ModelProvider {
  private readonly models = new Map<string, LookoutAgentsModel>();
  private readonly defaultName: string;

  constructor(models: Record<string, LanguageModel>, options: LookoutAgentsModelOptions & { defaultModel?: string } = {}) {
    const { defaultModel, ...modelOptions } = options;
    for (const [name, model] of Object.entries(models)) this.models.set(name, new LookoutAgentsModel(model, modelOptions));
    const first = this.models.keys().next().value;
    if (first === undefined) throw new OpenAIAgentsAdapterError('openai-agents-unknown-model', 'LookoutModelProvider needs at least one model: new LookoutModelProvider({ name: model }).');
    if (defaultModel !== undefined && !this.models.has(defaultModel))
      throw new OpenAIAgentsAdapterError('openai-agents-unknown-model', `defaultModel "${defaultModel}" is not among the models (${[...this.models.keys()].join(', ')}).`);
    this.defaultName = defaultModel ?? first;
  }

  getModel(modelName?: string): Model {
    const model = this.models.get(modelName || this.defaultName);
    if (!model) throw new OpenAIAgentsAdapterError('openai-agents-unknown-model', `No Lookout model is named "${modelName}"; the provider has ${[...this.models.keys()].join(', ')}.`);
    return model;
  }
}

/** One reply of the Lookout model, gathered into the Agents SDK's output items. */
class Reply {
  readonly id = `lookout_${randomUUID()}`;
  private text = '';
  private readonly calls: ToolCall[] = [];
  private finish: { reason: string; usage: LookoutUsage } | undefined;

  add(event: ModelEvent): void {
    if (event.type === 'text-delta') this.text += event.text;
    else if (event.type === 'tool-call') this.calls.push(event.call);
    // What the model wrote instead of a parseable call reaches the agent as text.
    else if (event.type === 'tool-call-error') this.text += event.raw;
    else if (event.type === 'finish') this.finish = { reason: event.reason, usage: event.usage };
  }

  output(): AgentOutputItem[] {
    const items: AgentOutputItem[] = [];
    if (this.text || this.calls.length === 0) {
      items.push({
        type: 'message',
        id: `${this.id}_msg`,
        role: 'assistant',
        status: this.finish?.reason === 'length' ? 'incomplete' : 'completed',
        content: [{ type: 'output_text', text: this.text }],
      });
    }
    for (const call of this.calls) {
      items.push({ type: 'function_call', id: `${this.id}_${call.id}`, callId: call.id, name: call.name, arguments: JSON.stringify(call.arguments ?? {}), status: 'completed' });
    }
    return items;
  }

  usage(): Usage {
    const u = this.finish?.usage ?? { inputTokens: 0, outputTokens: 0 };
    return new Usage({
      requests: 1,
      inputTokens: u.inputTokens,
      outputTokens: u.outputTokens,
      totalTokens: u.inputTokens + u.outputTokens,
      ...(u.cachedInputTokens !== undefined ? { inputTokensDetails: { cached_tokens: u.cachedInputTokens } } : {}),
    });
  }
}

function unsupported(what: string): never {
  throw new OpenAIAgentsAdapterError('openai-agents-unsupported', `The Lookout model cannot take ${what}.`);
}

/** The Agents SDK's request as a Lookout model request. */
export function toLookoutRequest(request: AgentsRequest, constrains: boolean, defaults: SamplingSettings = {}): ModelRequest {
  if (request.previousResponseId || request.conversationId) unsupported('a stored response or conversation id (Lookout keeps no server-side state; send the whole input)');
  if (request.prompt) unsupported('a prompt template (prompt ids live on OpenAI\'s servers)');
  const messages: ChatMessage[] = [];
  if (request.systemInstructions) messages.push({ role: 'system', content: request.systemInstructions });
  const items: AgentInputItem[] = typeof request.input === 'string' ? [{ role: 'user', content: request.input }] : request.input;
  const names = new Map<string, string>();
  for (const item of items) {
    const type = (item as { type?: string }).type ?? 'message';
    if (type === 'message') {
      const message = item as Extract<AgentInputItem, { role: string }>;
      if (message.role === 'system') messages.push({ role: 'system', content: message.content });
      else if (message.role === 'user') messages.push({ role: 'user', content: userContent(message.content) });
      else {
        const text = message.content.map((part) => (part.type === 'output_text' ? part.text : part.type === 'refusal' ? part.refusal : '')).join('');
        messages.push({ role: 'assistant', content: text });
      }
    } else if (type === 'function_call') {
      const call = item as Extract<AgentInputItem, { type: 'function_call' }>;
      names.set(call.callId, call.name);
      const toolCall: ToolCall = { id: call.callId, name: call.name, arguments: parseArguments(call.arguments) };
      // Calls of one reply (after its text, if any) belong to one assistant message.
      const last = messages.at(-1);
      if (last?.role === 'assistant') last.toolCalls = [...(last.toolCalls ?? []), toolCall];
      else messages.push({ role: 'assistant', content: '', toolCalls: [toolCall] });
    } else if (type === 'function_call_result') {
      const result = item as Extract<AgentInputItem, { type: 'function_call_result' }>;
      messages.push({ role: 'tool', toolCallId: result.callId, name: result.name ?? names.get(result.callId) ?? '', content: toolOutputText(result.output) });
    } else if (type === 'reasoning' || type === 'compaction') {
      // Another model's reasoning or compacted history: nothing Llama can read.
      continue;
    } else unsupported(`an input item of type "${type}" (hosted, computer, shell and patch tools run on OpenAI's side)`);
  }

  const tools: ToolSpec[] = [];
  for (const tool of request.tools) {
    if (tool.type !== 'function') unsupported(`the ${tool.type} tool "${tool.name}" (only function tools run locally)`);
    tools.push({ name: tool.name, description: tool.description, parameters: tool.parameters as Record<string, unknown> });
  }
  for (const handoff of request.handoffs) {
    tools.push({ name: handoff.toolName, description: handoff.toolDescription, parameters: handoff.inputJsonSchema as Record<string, unknown> });
  }

  const settings = request.modelSettings ?? {};
  const sampling: SamplingSettings = {
    ...defaults,
    ...(settings.temperature !== undefined ? { temperature: settings.temperature } : {}),
    ...(settings.topP !== undefined ? { topP: settings.topP } : {}),
    ...(settings.maxTokens !== undefined ? { maxTokens: settings.maxTokens } : {}),
  };

  const choice = settings.toolChoice;
  let toolChoice: ToolChoice | undefined;
  const offered = tools.length > 0 && choice !== 'none';
  if (offered && choice !== undefined && choice !== 'auto') {
    // 'required' or a tool's name: the reply must be a call, which only a constraining model can promise.
    if (constrains) toolChoice = choice === 'required' ? 'required' : { name: choice };
  } else if (offered && choice === 'auto') toolChoice = 'auto';

  let responseFormat: ResponseFormat | undefined;
  if (request.outputType !== 'text' && constrains) {
    const { name, schema, strict } = request.outputType;
    responseFormat = { type: 'json_schema', name, schema: schema as Record<string, unknown>, strict };
  }

  return {
    messages,
    ...(offered ? { tools } : {}),
    ...(toolChoice ? { toolChoice } : {}),
    ...(responseFormat ? { responseFormat } : {}),
    sampling,
  };
}

type UserContent = Extract<AgentInputItem, { role: 'user' }>['content'];

function userContent(content: UserContent): string | ContentPart[] {
  if (typeof content === 'string') return content;
  const parts: ContentPart[] = [];
  for (const part of content) {
    if (part.type === 'input_text') parts.push({ type: 'text', text: part.text });
    else if (part.type === 'input_image') parts.push({ type: 'image', image: imageInput(part.image) });
    else unsupported(`user content of type "${part.type}" (text and images are accepted)`);
  }
  return parts.every((p) => p.type === 'text') ? parts.map((p) => (p as { text: string }).text).join('\n') : parts;
}

/** A data: URL, an http(s) URL or base64 bytes; an OpenAI file id cannot be read here. */
function imageInput(image: unknown): ImageInput {
  if (typeof image !== 'string' || image === '') unsupported('an image given as an OpenAI file id (pass a data: URL, an http(s) URL or base64 bytes)');
  if (/^(data:|https?:\/\/)/i.test(image)) return image;
  return new Uint8Array(Buffer.from(image, 'base64'));
}

function parseArguments(text: string): unknown {
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** A function call's output as the text the model reads; images in it are named, not shown. */
function toolOutputText(output: unknown): string {
  if (typeof output === 'string') return output;
  const parts = Array.isArray(output) ? output : [output];
  return parts
    .map((part: { type?: string; text?: string }) =>
      part?.type === 'text' || part?.type === 'input_text' ? String(part.text ?? '') : part?.type === 'image' || part?.type === 'input_image' ? '[image omitted]' : `[${part?.type ?? 'unknown'} output omitted]`,
    )
    .join('\n');
}
