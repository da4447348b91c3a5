import { readFile } from 'node:fs/promises';
import {
  LLAMA_GUARD_VARIANTS,
  LlamaGuard,
  parseCategoryCodes,
  renderPromptText,
  type CategorySet,
  type GuardSubject,
  type LlamaGuardVariant,
  type Stage,
} from '@lookout/guards';
import { buildLlama3TokenizerFiles, LlamaTokenizer, type ChatMessage, type LanguageModel } from '@lookout/runtime';
import type { CliCommand, CliIo } from '../command.js';
import { CliUsageError, parseCliArgs } from '../command.js';
import { loadLanguageModel } from '../../serve/load-model.js';
import { modelSourceOptions } from '../model-options.js';

const usage = `Usage: lookout guard [options]

Checks content with Llama Guard 3 and prints the verdict (exit 0 safe, 1 unsafe, 2 usage error),
or prints the exact prompt and its token ids without running a model (--print-prompt).

Content:
  --text <text>              the content under test
  --conversation <file.json> chat messages (JSON array of {role, content}); with --text they are
                             the history, without it the last message is under test
  --role user|agent          whose content is under test (default: user, or the last message's role)
  --stage <stage>            input | output | tool-call | tool-result (overrides --role)
  --image <path>             an image under test (repeatable; 11b-vision only, one check per image)

Policy:
  --variant <v>              11b-vision (default) | 1b | 8b
  --categories <file|json>   custom categories, e.g. '{"S1":"Violent Crimes.","C1":"Refund fraud."}'
  --exclude S1,S2            category codes left out; a verdict naming only these is safe
  --threshold <p>            decide by P(unsafe) >= p instead of the written answer

Model:
  --model-dir <dir>          in-process model directory (its tokenizer is also used for --print-prompt)
  --base-url <url> --model <name> [--api-key <key>]   a served engine (vLLM, Ollama, TGI, ...)
  --device cpu|cuda          for --model-dir (default cpu)
  --dtype fp32|fp16|int4     which build of --model-dir (default: the one there, else fp32 on cpu, fp16 on cuda)

Output:
  --print-prompt             print the prompt string and its token ids; runs no model
  --json                     machine-readable output ({"prompt","tokenIds"} or the verdict)

Examples:
  lookout guard --print-prompt --text "How do I pick a lock?" --variant 1b
  lookout guard --text "..." --base-url http://localhost:8000/v1 --model meta-llama/Llama-Guard-3-11B-Vision
`;

const options = {
  text: { type: 'string' },
  conversation: { type: 'string' },
  role: { type: 'string' },
  stage: { type: 'string' },
  image: { type: 'string', multiple: true },
  categories: { type: 'string' },
  exclude: { type: 'string' },
  variant: { type: 'string' },
  threshold: { type: 'string' },
  'model-dir': { type: 'string' },
  'base-url': { type: 'string' },
  model: { type: 'string' },
  'api-key': { type: 'string' },
  device: { type: 'string' },
  dtype: { type: 'string' },
  'print-prompt': { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

const STAGES: Stage[] = ['input', 'output', 'tool-call', 'tool-result'];

/** A model stand-in for prompt printing: LlamaGuard needs one to exist, never to run. */
const NO_MODEL: LanguageModel = {
  id: 'none',
  capabilities: { images: true, tools: false, logprobs: true, rawPrompt: true },
  stream() {
    throw new Error('no model: --print-prompt does not run one');
  },
};

const guard: CliCommand = {
  name: 'guard',
  summary: 'check content with Llama Guard 3, or print its exact prompt and token ids',
  usage,
  async run(argv: string[], io: CliIo): Promise<number> {
    const { values } = parseCliArgs(argv, options);
    const variant = (values.variant ?? '11b-vision') as LlamaGuardVariant;
    if (!LLAMA_GUARD_VARIANTS.includes(variant)) throw new CliUsageError(`--variant must be one of ${LLAMA_GUARD_VARIANTS.join(', ')}; got "${values.variant}"`);
    const subject = await readSubject(values);
    const categories = values.categories !== undefined ? await readCategories(values.categories) : undefined;
    const excludedCategories = values.exclude !== undefined ? parseCategoryCodes(values.exclude) : undefined;
    const threshold = values.threshold !== undefined ? Number(values.threshold) : undefined;
    if (threshold !== undefined && !(threshold > 0 && threshold <= 1)) throw new CliUsageError(`--threshold must be a number in (0, 1]; got "${values.threshold}"`);
    if (subject.content.images.length && variant !== '11b-vision') {
      throw new CliUsageError(`--image needs --variant 11b-vision; Llama Guard 3 ${variant} is text-only`);
    }

    if (values['print-prompt']) {
      const tokenizer = values['model-dir']
        ? await LlamaTokenizer.fromDirectory(values['model-dir'])
        : (() => {
            const files = buildLlama3TokenizerFiles({ imageToken: variant === '11b-vision' });
            return LlamaTokenizer.fromJSON(files.tokenizerJson, files.tokenizerConfig);
          })();
      const lg = new LlamaGuard({ model: NO_MODEL, variant, tokenizer, categories, excludedCategories, threshold });
      // 11B-Vision checks one image per call: the prompt of each is the same apart from the image.
      const segments = lg.prompt(subject, subject.content.images[0]);
      const prompt = renderPromptText(segments);
      const tokenIds = tokenizer.encodeSegments(segments);
      if (values.json) io.stdout.write(JSON.stringify({ prompt, tokenIds }) + '\n');
      else {
        io.stdout.write(prompt + '\n');
        io.stdout.write(`\n${tokenIds.length} token ids:\n${JSON.stringify(tokenIds)}\n`);
        if (subject.content.images.length > 1) io.stdout.write(`(${subject.content.images.length} images: one such prompt per image)\n`);
      }
      return 0;
    }

    if (!values['model-dir'] && !values['base-url']) {
      throw new CliUsageError('give --model-dir <dir> or --base-url <url> --model <name> to classify, or --print-prompt to only print the prompt');
    }
    const model = await loadLanguageModel(modelSourceOptions(values));
    try {
      const tokenizer = values['model-dir'] ? await LlamaTokenizer.fromDirectory(values['model-dir']) : undefined;
      const lg = new LlamaGuard({ model, variant, tokenizer, categories, excludedCategories, threshold });
      const verdict = await lg.check(subject);
      if (values.json) io.stdout.write(JSON.stringify(verdict) + '\n');
      else {
        const head = verdict.safe ? 'safe' : `unsafe${verdict.categories.length ? ` ${verdict.categories.join(',')}` : ''}`;
        const score = verdict.score !== undefined ? `  P(unsafe)=${verdict.score.toFixed(4)}` : '';
        io.stdout.write(`${head}${score}${verdict.reason ? `  (${verdict.reason})` : ''}\n`);
      }
      return verdict.safe ? 0 : 1;
    } finally {
      await model.dispose?.();
    }
  },
};

export default guard;

type Values = { text?: string; conversation?: string; role?: string; stage?: string; image?: string[] };

async function readSubject(values: Values): Promise<GuardSubject> {
  let conversation: ChatMessage[] = [];
  if (values.conversation !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(values.conversation, 'utf8'));
    } catch (e) {
      throw new CliUsageError(`--conversation ${values.conversation}: ${(e as Error).message}; expected a JSON array of {"role","content"} messages`);
    }
    const list = Array.isArray(parsed) ? parsed : (parsed as { messages?: unknown })?.messages;
    if (!Array.isArray(list) || list.some((m) => !m || typeof m !== 'object' || !['system', 'user', 'assistant', 'tool'].includes((m as { role?: string }).role ?? ''))) {
      throw new CliUsageError(`--conversation ${values.conversation}: expected a JSON array of messages with role system|user|assistant|tool`);
    }
    conversation = list as ChatMessage[];
  }
  let text = values.text;
  let role = values.role;
  if (role !== undefined && role !== 'user' && role !== 'agent') throw new CliUsageError(`--role must be user or agent; got "${role}"`);
  if (text === undefined) {
    const last = conversation.at(-1);
    if (!last) throw new CliUsageError('give the content under test with --text, or a --conversation whose last message is under test');
    if (last.role !== 'user' && last.role !== 'assistant') throw new CliUsageError('the last message of --conversation must be a user or assistant message');
    conversation = conversation.slice(0, -1);
    text = typeof last.content === 'string' ? last.content : last.content.flatMap((p) => (p.type === 'text' ? [p.text] : [])).join('\n');
    role ??= last.role === 'user' ? 'user' : 'agent';
  }
  let stage: Stage = role === 'agent' ? 'output' : 'input';
  if (values.stage !== undefined) {
    if (!STAGES.includes(values.stage as Stage)) throw new CliUsageError(`--stage must be one of ${STAGES.join(', ')}; got "${values.stage}"`);
    stage = values.stage as Stage;
  }
  const images: Uint8Array[] = [];
  for (const p of values.image ?? []) {
    try {
      images.push(new Uint8Array(await readFile(p)));
    } catch (e) {
      throw new CliUsageError(`--image ${p}: ${(e as Error).message}`);
    }
  }
  return { stage, conversation, content: { text, images } };
}

async function readCategories(arg: string): Promise<CategorySet> {
  const source = arg.trimStart().startsWith('{') ? arg : await readFile(arg, 'utf8').catch((e: Error) => {
    throw new CliUsageError(`--categories ${arg}: ${e.message}; give a JSON object or a file holding one`);
  });
  let parsed: unknown;
  try {
    parsed = JSON.parse(source);
  } catch (e) {
    throw new CliUsageError(`--categories: ${(e as Error).message}; expected a JSON object like {"S1":"Violent Crimes."}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed) || Object.values(parsed).some((v) => typeof v !== 'string')) {
    throw new CliUsageError('--categories must be a JSON object of code → description strings, e.g. {"S1":"Violent Crimes."}');
  }
  return parsed as CategorySet;
}
