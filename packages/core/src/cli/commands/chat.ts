import { createInterface } from 'node:readline';
import { access } from 'node:fs/promises';
import type { Guard } from '@lookout/guards';
import { LlamaGuard, PiiGuard, LLAMA_GUARD_VARIANTS, type LlamaGuardVariant } from '@lookout/guards';
import type { ContentPart, LanguageModel } from '@lookout/runtime';
import type { CliCommand, CliIo } from '../command.js';
import { CliUsageError, intOption, parseCliArgs } from '../command.js';
import { MODEL_OPTIONS, modelSourceOptions } from '../model-options.js';
import { Agent } from '../../agent/index.js';
import type { AgentEvent } from '../../agent/events.js';
import { loadLanguageModel } from '../../serve/load-model.js';

const usage = `Usage: lookout chat (--model-dir <dir> | --base-url <url> --model <name>) [options]

Interactive guarded chat with Llama 3.2 Vision. Replies stream as they pass the output guards;
guard verdicts are shown on stderr.

Model (one of):
  --model-dir <dir>        model directory, run in-process (--device cpu|cuda, --dtype fp32|fp16|int4:
                           which build; default the one there, else fp32 on cpu and fp16 on cuda)
  --base-url <url>         OpenAI-compatible engine, e.g. http://localhost:8000/v1
  --model <name>           model name on that engine (optional when it serves only one)
  --api-key <key>          bearer token (default $OPENAI_API_KEY)

Guards:
  --guard-dir <dir>        Llama Guard 3 model directory (in-process) on input and output
  --guard-url <url>        Llama Guard 3 on a served engine, with --guard-model <name>
  --guard-variant <v>      ${LLAMA_GUARD_VARIANTS.join(' | ')} (default 11b-vision)
  --pii                    block e-mail addresses, card numbers, phone numbers ... in input and output
  --guard-mode <mode>      parallel (default): the model starts while input guards run, nothing is
                           shown until they pass; sequential: the model sees input only after the
                           guards pass (use it when the model is a remote engine that must not
                           receive blocked input)

Other:
  --system <text>          system prompt
  --max-tokens <n>         reply budget per model step (default 512)
  --quiet-guards           do not print guard verdicts

In the chat:
  /image <path or URL>     attach an image to your next message
  /reset                   start a new conversation
  /exit                    leave (Ctrl-D works too; Ctrl-C stops the reply being written)
`;

const chat: CliCommand = {
  name: 'chat',
  summary: 'interactive guarded chat (text and images) with a local or served model',
  usage,
  async run(argv, io) {
    const { values } = parseCliArgs(argv, {
      ...MODEL_OPTIONS,
      'guard-dir': { type: 'string' },
      'guard-url': { type: 'string' },
      'guard-model': { type: 'string' },
      'guard-variant': { type: 'string' },
      pii: { type: 'boolean' },
      'guard-mode': { type: 'string' },
      system: { type: 'string' },
      'max-tokens': { type: 'string' },
      'quiet-guards': { type: 'boolean' },
    });
    const source = modelSourceOptions(values);
    const variant = (values['guard-variant'] ?? '11b-vision') as LlamaGuardVariant;
    if (!LLAMA_GUARD_VARIANTS.includes(variant)) throw new CliUsageError(`--guard-variant must be one of ${LLAMA_GUARD_VARIANTS.join(', ')}, got "${variant}"`);
    const guardMode = values['guard-mode'] ?? 'parallel';
    if (guardMode !== 'parallel' && guardMode !== 'sequential') throw new CliUsageError(`--guard-mode must be parallel or sequential, got "${guardMode}"`);
    const maxTokens = intOption(values['max-tokens'], '--max-tokens', 512, 1);

    const model = await loadLanguageModel(source);
    const disposables: Array<LanguageModel & { dispose?(): Promise<void> }> = [model];
    const guards: Guard[] = [];
    if (values.pii) guards.push(new PiiGuard());
    if (values['guard-dir'] || values['guard-url']) {
      const guardModel = await loadLanguageModel({ modelDir: values['guard-dir'], baseUrl: values['guard-url'], model: values['guard-model'], apiKey: source.apiKey, device: source.device });
      disposables.push(guardModel);
      guards.push(new LlamaGuard({ model: guardModel, variant }));
    }
    const agent = new Agent({ model, system: values.system, guards: { input: guards, output: guards }, sampling: { maxTokens }, inputGuardMode: guardMode });
    try {
      return await repl(agent, io, !values['quiet-guards']);
    } finally {
      for (const m of disposables) await m.dispose?.();
    }
  },
};

async function repl(agent: Agent, io: CliIo, showGuards: boolean): Promise<number> {
  const interactive = Boolean((io.stdin as { isTTY?: boolean }).isTTY);
  const lines = createInterface({ input: io.stdin, terminal: false });
  const prompt = () => interactive && io.stdout.write('> ');
  let images: ContentPart[] = [];
  let sessionId: string | undefined;
  let failures = 0;
  prompt();
  for await (const raw of lines) {
    const line = raw.trim();
    if (line === '/exit' || line === '/quit') break;
    if (line === '') {
      prompt();
      continue;
    }
    if (line === '/reset') {
      sessionId = undefined;
      images = [];
      io.stderr.write('[new conversation]\n');
      prompt();
      continue;
    }
    if (line.startsWith('/image')) {
      const where = line.slice('/image'.length).trim();
      const problem = await checkImage(where);
      if (problem) io.stderr.write(`[${problem}]\n`);
      else {
        images.push({ type: 'image', image: where });
        io.stderr.write(`[image attached: ${where}]\n`);
      }
      prompt();
      continue;
    }
    if (line.startsWith('/')) {
      io.stderr.write(`[unknown command ${line.split(/\s/)[0]}; known: /image <path|URL>, /reset, /exit]\n`);
      prompt();
      continue;
    }
    const input: string | ContentPart[] = images.length ? [...images, { type: 'text', text: line }] : line;
    images = [];
    let reported: Error | undefined;
    // Ctrl-C during a reply stops that reply (and the model's generation), not the whole chat.
    const turn = new AbortController();
    const interrupt = () => turn.abort(new Error('interrupted'));
    process.once('SIGINT', interrupt);
    try {
      const events = agent.stream(input, { sessionId, signal: turn.signal });
      let step = await events.next();
      while (!step.done) {
        if (step.value.type === 'error') reported = step.value.error;
        show(step.value, io, showGuards);
        step = await events.next();
      }
      sessionId = step.value.sessionId;
      io.stdout.write('\n');
    } catch (err) {
      const e = err as Error & { code?: string };
      if (turn.signal.aborted) io.stderr.write('\n[interrupted]\n');
      else {
        failures++;
        // The loop may already have reported it as an 'error' event; do not print it twice.
        if (e !== reported && e.message !== reported?.message) io.stderr.write(`[error${e.code ? ` ${e.code}` : ''}: ${e.message}]\n`);
      }
    } finally {
      process.off('SIGINT', interrupt);
    }
    prompt();
  }
  lines.close();
  return failures > 0 ? 1 : 0;
}

function show(event: AgentEvent, io: CliIo, showGuards: boolean): void {
  switch (event.type) {
    case 'text-delta':
      io.stdout.write(event.text);
      break;
    case 'guard-verdict': {
      if (!showGuards) break;
      const v = event.verdict;
      const verdict = v.safe ? 'safe' : `unsafe${v.categories.length ? ` ${v.categories.join(',')}` : ''}`;
      const score = v.score !== undefined ? ` p=${v.score.toFixed(3)}` : '';
      io.stderr.write(`[guard ${event.stage}] ${v.guard}: ${verdict}${score} (${Math.round(v.latencyMs)} ms)${v.failure ? ` failure=${v.failure}` : ''}\n`);
      break;
    }
    case 'blocked':
      io.stderr.write(`[blocked at ${event.stage} by ${event.verdict.guard}${event.verdict.categories.length ? `: ${event.verdict.categories.join(', ')}` : ''}]\n`);
      if (event.stage === 'input' || event.stage === 'output') io.stdout.write(event.replacement);
      break;
    case 'tool-call':
      io.stderr.write(`[tool call ${event.name}(${JSON.stringify(event.arguments)})${event.valid ? '' : ' invalid'}]\n`);
      break;
    case 'tool-result':
      io.stderr.write(`[tool result ${event.name}${event.isError ? ' error' : ''}${event.flagged ? ' flagged' : ''}]\n`);
      break;
    case 'error':
      io.stderr.write(`[error${event.error.code ? ` ${event.error.code}` : ''}: ${event.error.message}]\n`);
      break;
    default:
      break;
  }
}

/** Undefined when the image can be used; otherwise what is wrong with it. */
async function checkImage(where: string): Promise<string | undefined> {
  if (!where) return 'usage: /image <path or http(s) URL>';
  if (/^(https?:|data:)/i.test(where)) return undefined;
  try {
    await access(where);
    return undefined;
  } catch {
    return `no such image file: ${where}`;
  }
}

export default chat;
