// A command-line vision agent: looks at a photo, measures the object in it and finds packaging
// that fits, with every stage guarded.
// Run: node --import tsx examples/vision-agent/main.ts <photo> [question] [--px-per-cm 20]
//      [--model-dir <Llama-3.2-Vision dir> | --base-url <url> --model <name>] [--guard-dir <Llama Guard dir>]
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { AgentEvent } from '@lookout/core';
import { LlamaGuard, type Guard } from '@lookout/guards';
import { OnnxModel, OpenAICompatibleModel, type LanguageModel } from '@lookout/runtime';
import { createVisionAgent } from './agent.js';
import { scriptedPlanner } from './planner.js';

const USAGE = `Usage: node --import tsx examples/vision-agent/main.ts <photo> [question] [options]
  --px-per-cm <n>     scale of the photo (default 20)
  --model-dir <dir>   Llama 3.2 Vision, in-process (env LOOKOUT_MODEL_DIR)
  --base-url <url>    OpenAI-compatible engine, with --model <name>
  --guard-dir <dir>   Llama Guard 3 11B-Vision, in-process, on the question, photo and answer
Without a model, a scripted planner makes the tool calls (clearly not a language model).`;

function fail(message: string): never {
  console.error(`vision-agent: ${message}\n\n${USAGE}`);
  process.exit(2);
}

const { values, positionals } = (() => {
  try {
    return parseArgs({
      allowPositionals: true,
      options: { 'px-per-cm': { type: 'string' }, 'model-dir': { type: 'string' }, 'base-url': { type: 'string' }, model: { type: 'string' }, 'guard-dir': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (error) {
    return fail((error as Error).message);
  }
})();
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const [photo, ...words] = positionals;
if (!photo) fail('give the path of a photo');
const pixelsPerCm = Number(values['px-per-cm'] ?? 20);
if (!(pixelsPerCm > 0)) fail(`--px-per-cm must be a positive number, got "${values['px-per-cm']}"`);
const question = words.join(' ') || 'What packaging fits this?';
let image: Uint8Array;
try {
  image = new Uint8Array(await readFile(photo));
} catch (error) {
  fail(`cannot read ${photo}: ${(error as Error).message}`);
}

const modelDir = values['model-dir'] ?? process.env.LOOKOUT_MODEL_DIR;
let model: LanguageModel & { dispose?(): Promise<void> };
if (modelDir) model = await OnnxModel.load(modelDir);
else if (values['base-url']) {
  if (!values.model) fail('--base-url needs --model <name>');
  model = new OpenAICompatibleModel({ baseUrl: values['base-url'], model: values.model });
} else {
  model = scriptedPlanner();
  console.log('[model] scripted planner (no --model-dir / --base-url): tool calls are scripted, measurements are real');
}
let guardModel: OnnxModel | undefined;
let moderation: Guard | undefined;
if (values['guard-dir']) {
  guardModel = await OnnxModel.load(values['guard-dir']);
  moderation = new LlamaGuard({ model: guardModel, variant: '11b-vision' });
}

const agent = createVisionAgent({ model, moderation, sampling: { maxTokens: 400 } });

function print(event: AgentEvent): void {
  switch (event.type) {
    case 'guard-verdict': {
      const v = event.verdict;
      const flagged = !v.safe || v.categories.length > 0;
      if (flagged) console.log(`[guard] ${event.stage} ${v.guard}: ${v.safe ? 'redacted' : 'unsafe'} ${v.categories.join(',')}${v.reason ? ` (${v.reason})` : ''}`);
      return;
    }
    case 'tool-call':
      return console.log(`[tool] ${event.name} ${JSON.stringify(event.arguments)}`);
    case 'tool-result':
      return console.log(`[result] ${event.name}${event.flagged ? ' (guarded)' : ''}: ${event.content}`);
    case 'blocked':
      return console.log(`[blocked] ${event.stage}: ${event.replacement}`);
    case 'text-delta':
      return void process.stdout.write(event.text);
    case 'turn-end':
      return console.log(`\n[done] ${event.result.status}, ${event.result.steps} model steps`);
    default:
      return;
  }
}

console.log(`> ${question}  [photo: ${photo}]`);
const stream = agent.stream([{ type: 'text', text: question }, { type: 'image', image }], { context: { image, pixelsPerCm } });
for await (const event of stream) print(event);
await model.dispose?.();
await guardModel?.dispose();
