// Opens the chat model and the guard models the configuration names.
import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { LlamaGuard, PromptGuard, type Guard } from '@lookout/guards';
import { OnnxModel, OpenAICompatibleModel, writeTinyCheckpoint, type LanguageModel, type SamplingSettings } from '@lookout/runtime';
import type { GuardChoice, ModelChoice } from './config.js';
import { DemoShopModel } from './demo-model.js';

export interface LoadedModel {
  model: LanguageModel;
  /** Lines printed at start and shown on the chat page. */
  banner: string[];
  /** True when the replies are not from a real model (tiny random weights or the scripted demo). */
  notReal: boolean;
  sampling?: SamplingSettings;
  dispose(): Promise<void>;
}

const HOW_TO_REAL = [
  'Plug in real weights:   pnpm start -- --model-dir /models/Llama-3.2-11B-Vision-Instruct [--guard-dir /models/Llama-Guard-3-11B-Vision]',
  'Or a served engine:     pnpm start -- --base-url http://localhost:8000/v1 --model meta-llama/Llama-3.2-11B-Vision-Instruct',
  'Or the scripted demo:   pnpm start -- --demo   (fixed rules that use the shop tools)',
];

/** Writes the tiny checkpoint once, atomically (a half-written directory is never reused). */
export async function ensureTinyCheckpoint(cacheDir: string, log: (line: string) => void = () => {}): Promise<string> {
  const dir = path.join(cacheDir, 'mllama-seed0');
  if (existsSync(path.join(dir, 'config.json'))) return dir;
  log(`Generating the tiny random Llama 3.2 Vision checkpoint in ${dir} (first start only) ...`);
  await mkdir(cacheDir, { recursive: true });
  const staging = `${dir}.partial-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  await writeTinyCheckpoint(staging, { arch: 'mllama', seed: 0 });
  await rename(staging, dir);
  return dir;
}

export async function loadChatModel(choice: ModelChoice, log: (line: string) => void = () => {}): Promise<LoadedModel> {
  switch (choice.kind) {
    case 'served': {
      const model = new OpenAICompatibleModel({ baseUrl: choice.baseUrl, model: choice.model, apiKey: choice.apiKey });
      return { model, banner: [`Model: ${choice.model} served at ${choice.baseUrl}`], notReal: false, dispose: async () => {} };
    }
    case 'dir': {
      log(`Loading ${choice.dir} (building its ONNX graphs on first load) ...`);
      const model = await OnnxModel.load(choice.dir, { executionProvider: choice.device });
      return { model, banner: [`Model: ${choice.dir} in-process (${choice.device})`], notReal: false, sampling: { maxTokens: 512 }, dispose: () => model.dispose() };
    }
    case 'demo':
      return demoModel('Model: scripted demo (--demo). Replies follow fixed rules; no language model runs.');
    case 'tiny': {
      try {
        const dir = await ensureTinyCheckpoint(choice.cacheDir, log);
        log('Loading the tiny checkpoint (building its ONNX graphs on first start) ...');
        const model = await OnnxModel.load(dir, { executionProvider: 'cpu' });
        return {
          model,
          banner: [
            `Model: TINY RANDOM Llama 3.2 Vision checkpoint (${dir}).`,
            'Its weights are random: replies are random tokens and it never calls tools. The guards, streaming,',
            'sessions and pages are all real.',
            ...HOW_TO_REAL,
          ],
          notReal: true,
          // Random weights never stop on their own; keep replies short.
          sampling: { maxTokens: 48, temperature: 0.8 },
          dispose: () => model.dispose(),
        };
      } catch (error) {
        log(`The in-process runtime could not run the tiny checkpoint: ${(error as Error).message}`);
        return demoModel('Model: scripted demo (the in-process runtime failed to start; see above).');
      }
    }
  }
}

function demoModel(first: string): LoadedModel {
  return {
    model: new DemoShopModel(),
    banner: [first, 'Replies are scripted, not generated.', ...HOW_TO_REAL.slice(0, 2)],
    notReal: true,
    dispose: async () => {},
  };
}

export interface LoadedGuards {
  moderation?: Guard;
  promptGuard?: Guard;
  banner: string[];
  dispose(): Promise<void>;
}

export async function loadGuardModels(choice: GuardChoice, promptGuardDir: string | undefined, log: (line: string) => void = () => {}): Promise<LoadedGuards> {
  const disposers: Array<() => Promise<void>> = [];
  const banner: string[] = [];
  let moderation: Guard | undefined;
  if (choice.kind === 'dir') {
    log(`Loading Llama Guard 3 from ${choice.dir} ...`);
    const model = await OnnxModel.load(choice.dir, { executionProvider: choice.device });
    disposers.push(() => model.dispose());
    moderation = new LlamaGuard({ model, variant: choice.variant });
    banner.push(`Llama Guard 3 (${choice.variant}) in-process on customer text, photos and replies.`);
  } else if (choice.kind === 'served') {
    const model = new OpenAICompatibleModel({ baseUrl: choice.baseUrl, model: choice.model, apiKey: choice.apiKey });
    moderation = new LlamaGuard({ model, variant: choice.variant });
    banner.push(`Llama Guard 3 (${choice.variant}) at ${choice.baseUrl} on customer text, photos and replies.`);
  } else {
    banner.push('Llama Guard: off (add --guard-dir or --guard-url). Rule guards (PII redaction, message limits) are on.');
  }
  let promptGuard: Guard | undefined;
  if (promptGuardDir) {
    const pg = await PromptGuard.load(promptGuardDir);
    disposers.push(() => pg.close());
    promptGuard = pg;
    banner.push(`Prompt Guard on tool results (${promptGuardDir}).`);
  }
  return { moderation, promptGuard, banner, dispose: async () => void (await Promise.all(disposers.map((d) => d()))) };
}
