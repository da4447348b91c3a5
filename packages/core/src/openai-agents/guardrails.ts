import { VerdictCache, type GuardSubject, type Stage, type Verdict } from '@lookout/guards';
import type { ImageInput } from '@lookout/runtime';
import type { InputGuardrail, OutputGuardrail, ToolInputGuardrailDefinition, ToolOutputGuardrailDefinition } from '@openai/agents-core';
import { resolveGuards, type GuardAction, type GuardSetting, type ResolvedGuard } from '../guarding/config.js';
import { publicVerdict } from '../guarding/public-verdict.js';
import { withRunCache } from '../guarding/run-cache.js';
import { runStage, type StageDecision } from '../guarding/run-stage.js';

export interface GuardrailOptions {
  /** The guardrail's name in the Agents SDK's results and traces. Default `lookout-<stage>`. */
  name?: string;
  /** Per-guard time limit in ms; a guard that runs over counts as unsafe unless failOpen. Default 10 000. */
  guardTimeoutMs?: number;
  /** Identical content is classified once (bounded cache per guardrail). `false` turns it off. */
  verdictCache?: { maxEntries?: number } | false;
  onVerdict?: (event: { stage: Stage; action: GuardAction; verdict: Verdict }) => void;
}

/** What a guardrail reports in `outputInfo`: the decision and every verdict (without reasons for output and tool stages). */
export interface GuardrailInfo {
  decision: 'pass' | 'block' | 'redact';
  verdicts: Verdict[];
  redactedText?: string;
}

function stageChecker(stage: Stage, key: string, guards: GuardSetting[], options: GuardrailOptions) {
  const timeout = options.guardTimeoutMs ?? 10_000;
  const empty: ResolvedGuard[] = [];
  let resolved: Record<Stage, ResolvedGuard[]> = { input: empty, output: empty, 'tool-call': empty, 'tool-result': empty, [stage]: resolveGuards(guards, timeout, key) };
  if (options.verdictCache !== false) resolved = withRunCache(resolved, new VerdictCache({ maxEntries: options.verdictCache?.maxEntries ?? 1000 }));
  return async (subject: GuardSubject): Promise<{ decision: StageDecision; info: GuardrailInfo }> => {
    const verdicts: Verdict[] = [];
    const { decision } = await runStage(resolved[stage], subject, {
      onVerdict: ({ verdict, action }) => {
        const shown = publicVerdict(stage, verdict);
        verdicts.push(shown);
        options.onVerdict?.({ stage, action, verdict: shown });
      },
    });
    return { decision, info: { decision: decision.kind, verdicts, ...(decision.kind === 'redact' && stage === 'input' ? { redactedText: decision.text } : {}) } };
  };
}

type Part = { type?: string; text?: string; image?: unknown; imageUrl?: unknown };

/** The newest user message of the run's input: its text and images. */
function latestUserContent(input: string | ReadonlyArray<unknown>): { text: string; images: ImageInput[] } {
  if (typeof input === 'string') return { text: input, images: [] };
  const last = [...input].reverse().find((item) => (item as { role?: string }).role === 'user') as { content?: string | Part[] } | undefined;
  if (!last) return { text: '', images: [] };
  if (typeof last.content === 'string') return { text: last.content, images: [] };
  const texts: string[] = [];
  const images: ImageInput[] = [];
  for (const part of last.content ?? []) {
    if (part.type === 'input_text' && typeof part.text === 'string') texts.push(part.text);
    else if (part.type === 'input_image') {
      const image = typeof part.image === 'string' ? part.image : typeof part.imageUrl === 'string' ? part.imageUrl : undefined;
      if (image) images.push(image);
    }
  }
  return { text: texts.join('\n'), images };
}

/**
 * An input guardrail for an OpenAI Agents SDK agent: the newest user message (text and
 * images) passes Lookout's guards; an unsafe verdict trips the wire
 * (`InputGuardrailTripwireTriggered`). Redaction cannot change the SDK's input, so a `redact`
 * entry's verdict trips it too, with the redacted text in `outputInfo.redactedText`.
 */
export function inputGuardrail(guards: GuardSetting[], options: GuardrailOptions & { runInParallel?: boolean } = {}): InputGuardrail {
  const check = stageChecker('input', 'input', guards, options);
  return {
    name: options.name ?? 'lookout-input',
    // The SDK's default: the check runs alongside the first model call. `false` waits for it first.
    ...(options.runInParallel !== undefined ? { runInParallel: options.runInParallel } : {}),
    async execute({ input }) {
      const { decision, info } = await check({ stage: 'input', conversation: [], content: latestUserContent(input as string | unknown[]) });
      return { tripwireTriggered: decision.kind !== 'pass', outputInfo: info };
    },
  };
}

/** An output guardrail: the agent's final output (text, or JSON of structured output) passes the guards; unsafe trips the wire. */
export function outputGuardrail(guards: GuardSetting[], options: GuardrailOptions = {}): OutputGuardrail {
  const check = stageChecker('output', 'output', guards, options);
  return {
    name: options.name ?? 'lookout-output',
    async execute({ agentOutput }) {
      const text = typeof agentOutput === 'string' ? agentOutput : JSON.stringify(agentOutput);
      const { decision, info } = await check({ stage: 'output', conversation: [], content: { text, images: [] } });
      return { tripwireTriggered: decision.kind !== 'pass', outputInfo: info };
    },
  };
}

/**
 * A tool input guardrail (for `tool({ inputGuardrails })`): the call's arguments pass the
 * tool-call guards before the tool runs; a flagged call is not run and the model is told.
 */
export function toolInputGuardrail(guards: GuardSetting[], options: GuardrailOptions = {}): ToolInputGuardrailDefinition {
  const check = stageChecker('tool-call', 'toolCall', guards, options);
  return {
    type: 'tool_input',
    name: options.name ?? 'lookout-tool-call',
    async run({ toolCall }) {
      const { decision, info } = await check({
        stage: 'tool-call',
        conversation: [],
        content: { text: toolCall.arguments, images: [] },
        tool: { name: toolCall.name, arguments: parseJson(toolCall.arguments) },
      });
      if (decision.kind === 'pass') return { behavior: { type: 'allow' }, outputInfo: info };
      const guard = decision.verdict.guard;
      return { behavior: { type: 'rejectContent', message: `The call to tool "${toolCall.name}" was blocked by guard "${guard}" and was not executed.` }, outputInfo: info };
    },
  };
}

/**
 * A tool output guardrail (for `tool({ outputGuardrails })`): the result passes the
 * tool-result guards before the model reads it; a flagged result is replaced by `notice`, a
 * redacted one by the redacted text.
 */
export function toolOutputGuardrail(guards: GuardSetting[], options: GuardrailOptions & { notice?: string } = {}): ToolOutputGuardrailDefinition {
  const check = stageChecker('tool-result', 'toolResult', guards, options);
  return {
    type: 'tool_output',
    name: options.name ?? 'lookout-tool-result',
    async run({ toolCall, output }) {
      const text = typeof output === 'string' ? output : JSON.stringify(output);
      const { decision, info } = await check({
        stage: 'tool-result',
        conversation: [],
        content: { text, images: [] },
        tool: { name: toolCall.name, arguments: parseJson(toolCall.arguments) },
      });
      if (decision.kind === 'pass') return { behavior: { type: 'allow' }, outputInfo: info };
      const message = decision.kind === 'redact' ? decision.text : (options.notice ?? `The result of tool "${toolCall.name}" was withheld by guard "${decision.verdict.guard}".`);
      return { behavior: { type: 'rejectContent', message }, outputInfo: info };
    },
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
