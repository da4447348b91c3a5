// Every error class a package exports is a LookoutError (from @lookout/tools) with a stable,
// non-empty `code` and its own class name as `name`. A new exported error class fails the first
// check of its entry until it has a sample below (and so a base and a code).
// ModelSourceError (core/serve/load-model.ts, no entry exports it) has its check next to it.
import { describe, expect, it } from 'vitest';
import * as core from '@lookout/core';
import * as aiSdk from '@lookout/core/ai-sdk';
import * as langchain from '@lookout/core/langchain';
import * as mcp from '@lookout/core/mcp';
import * as openaiAgents from '@lookout/core/openai-agents';
import * as serve from '@lookout/core/serve';
import * as guards from '@lookout/guards';
import * as runtime from '@lookout/runtime';
import * as tools from '@lookout/tools';
import { LookoutError } from '@lookout/tools';

type Samples = Record<string, () => Error>;

const verdict = { safe: false, categories: ['S1'], guard: 'g', latencyMs: 1 };

const entries: Array<[string, Record<string, unknown>, Samples]> = [
  [
    '@lookout/tools',
    tools,
    {
      ToolError: () => new tools.ToolError('tool-unknown', 'no such tool'),
      ToolDefinitionError: () => new tools.ToolDefinitionError('tool-invalid-name', 'bad name'),
      ToolValidationBudgetExceeded: () => new tools.ToolValidationBudgetExceeded(2, 'bad arguments'),
    },
  ],
  [
    '@lookout/runtime',
    runtime,
    {
      ChatFormatError: () => new runtime.ChatFormatError('CHAT_BAD_MESSAGE', 'bad message'),
      ConstraintError: () => new runtime.ConstraintError('CONSTRAINT_INVALID', 'bad constraint'),
      UnsupportedSchemaError: () => new runtime.UnsupportedSchemaError('oneOf', '#', 'is not supported'),
      ModelFileError: () => new runtime.ModelFileError('MODEL_FILE_MISSING', 'missing', 'config.json'),
      GenerationError: () => new runtime.GenerationError('SOME_CODE', 'failed'),
      InvalidSamplingError: () => new runtime.InvalidSamplingError('topP = 2'),
      InvalidGenerationRequestError: () => new runtime.InvalidGenerationRequestError('empty prompt'),
      ContextLengthExceededError: () => new runtime.ContextLengthExceededError(10, 8),
      GenerationAbortedError: () => new runtime.GenerationAbortedError(),
      QueueFullError: () => new runtime.QueueFullError(4),
      EngineWorkerError: () => new runtime.EngineWorkerError('ENGINE_WORKER_EXITED', 'exited'),
      ExecutionProviderUnavailableError: () => new runtime.ExecutionProviderUnavailableError('no cuda'),
      ModelNotBuiltError: () => new runtime.ModelNotBuiltError('no graphs'),
      InvalidModelRequestError: () => new runtime.InvalidModelRequestError('bad request'),
      MissingRuntimePartError: () => new runtime.MissingRuntimePartError('no tokenizer'),
      GgufError: () => new runtime.GgufError('GGUF_BAD_TYPE', 'bad type'),
      ImageError: () => new runtime.ImageError('IMAGE_CORRUPT', 'corrupt'),
      ImageInputError: () => new runtime.ImageInputError('IMAGE_NOT_FOUND', 'not found'),
      ImageLimitError: () => new runtime.ImageLimitError('IMAGE_TOO_MANY_BYTES', 'too big', 1, 2),
      ImageFormatError: () => new runtime.ImageFormatError('IMAGE_UNSUPPORTED_FORMAT', 'tiff'),
      ImageFetchError: () => new runtime.ImageFetchError('IMAGE_FETCH_TIMEOUT', 'slow'),
      ImageConfigError: () => new runtime.ImageConfigError('bad config'),
      VisionPromptError: () => new runtime.VisionPromptError('mismatch'),
      ImageWorkerError: () => new runtime.ImageWorkerError('died'),
      OnnxError: () => new runtime.OnnxError('ONNX_NOT_BUILT', 'not built'),
      ProfileError: () => new runtime.ProfileError('PROFILE_NOT_FOUND', 'no profile'),
      ServedModelError: () => new runtime.ServedModelError('served.x', 'failed'),
      ServedHttpError: () => new runtime.ServedHttpError(503, 'http://x', 'busy'),
      ServedTimeoutError: () => new runtime.ServedTimeoutError('response', 10, 'http://x'),
      ServedConnectionError: () => new runtime.ServedConnectionError('http://x', new Error('refused'), 0),
      ServedAbortError: () => new runtime.ServedAbortError(),
      ServedProtocolError: () => new runtime.ServedProtocolError('not JSON'),
      ServedRequestError: () => new runtime.ServedRequestError('images in a raw prompt'),
      TinyCheckpointError: () => new runtime.TinyCheckpointError('TINY_OPTIONS_INVALID', 'bad heads', 'heads'),
      TokenizerError: () => new runtime.TokenizerError('TOKENIZER_UNKNOWN_ID', 'unknown id'),
      SafetensorsError: () => new runtime.SafetensorsError('SAFETENSORS_NOT_FOUND', 'missing'),
    },
  ],
  [
    '@lookout/guards',
    guards,
    {
      GuardError: () => new guards.GuardError('GUARD_X', 'failed'),
      GuardConfigError: () => new guards.GuardConfigError('bad option'),
      GuardTimeoutError: () => new guards.GuardTimeoutError('g', 10),
      GuardImageUnsupportedError: () => new guards.GuardImageUnsupportedError('1b', 1),
      GuardModelError: () => new guards.GuardModelError('no model'),
      GuardAbortError: () => new guards.GuardAbortError('g'),
    },
  ],
  [
    '@lookout/core',
    core,
    {
      AgentError: () => new core.AgentError('agent-invalid-input', 'bad input'),
      MaxStepsExceeded: () => new core.MaxStepsExceeded(3),
      ModelStepFailed: () => new core.ModelStepFailed('m', new Error('down')),
      OutputValidationFailed: () => new core.OutputValidationFailed(1, 'missing field', '{}'),
      RunAborted: () => new core.RunAborted(),
      InvalidRunState: () => new core.InvalidRunState('unknown run'),
      InvalidAgentInput: () => new core.InvalidAgentInput('empty'),
      SessionError: () => new core.SessionError('session-io', 'disk full'),
      SessionConflictError: () => new core.SessionConflictError('s', 1, 2),
    },
  ],
  [
    '@lookout/core/langchain',
    langchain,
    {
      LangChainAdapterError: () => new langchain.LangChainAdapterError('langchain.x', 'failed'),
      UnsupportedContentError: () => new langchain.UnsupportedContentError('audio'),
      GuardBlockedError: () => new langchain.GuardBlockedError('input', verdict),
      StructuredOutputError: () => new langchain.StructuredOutputError('no match', {}),
    },
  ],
  ['@lookout/core/mcp', mcp, { McpAdapterError: () => new mcp.McpAdapterError('mcp-connect-failed', 'refused') }],
  [
    '@lookout/core/serve',
    serve,
    {
      ServeError: () => new serve.ServeError(400, 'invalid_request', 'bad request', {}, 'messages'),
      ServeConfigError: () => new serve.ServeConfigError('maxConcurrent must be at least 1'),
    },
  ],
  ['@lookout/core/ai-sdk', aiSdk, { AiSdkGuardError: () => new aiSdk.AiSdkGuardError('ai-sdk-invalid-options', 'bad options') }],
  [
    '@lookout/core/openai-agents',
    openaiAgents,
    { OpenAIAgentsAdapterError: () => new openaiAgents.OpenAIAgentsAdapterError('openai-agents-unsupported', 'hosted tools are not served') },
  ],
];

describe('errors under LookoutError', () => {
  it('@lookout/tools and @lookout/runtime export the same base', () => {
    expect(runtime.LookoutError).toBe(LookoutError);
    const error = new LookoutError('SOME_CODE', 'message', { cause: 'why' });
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({ name: 'LookoutError', code: 'SOME_CODE', message: 'message', cause: 'why' });
  });

  for (const [entry, exports, samples] of entries) {
    it(`${entry}: every exported error class is a LookoutError with a code`, () => {
      const classes = Object.entries(exports).filter(
        ([name, value]) => typeof value === 'function' && value.prototype instanceof Error && name !== 'LookoutError',
      ) as Array<[string, abstract new (...args: never[]) => Error]>;
      expect(classes.map(([name]) => name).sort()).toEqual(Object.keys(samples).sort());
      for (const [name, cls] of classes) {
        expect(cls.prototype, name).toBeInstanceOf(LookoutError);
        const error = samples[name]!();
        expect(error, name).toBeInstanceOf(cls);
        expect(error, name).toBeInstanceOf(LookoutError);
        expect(error.name).toBe(name);
        const { code } = error as LookoutError;
        expect(typeof code, name).toBe('string');
        expect(code.length, name).toBeGreaterThan(0);
      }
    });
  }
});
