// The vision agent: the photo goes to the model and to the guards; the tools measure the object
// in it and search the catalogue for packaging that fits.
import { Agent, type GuardSetting } from '@lookout/core';
import { PatternGuard, PiiGuard, SizeLimitGuard, type Guard } from '@lookout/guards';
import type { LanguageModel, SamplingSettings } from '@lookout/runtime';
import { defineTool, z, type ToolContext } from '@lookout/tools';
import { CATALOGUE } from './catalogue.js';
import { measureObject } from './measure.js';

/** What every run carries: the photo the tools measure and its scale. */
export interface PhotoContext {
  image: Uint8Array;
  pixelsPerCm: number;
}

export const measureTool = defineTool({
  name: 'measure_object',
  description: "Measure the main object in the user's photo: width and height in centimetres, and its colour.",
  input: z.object({}),
  timeoutMs: 10_000,
  execute: async (_args, ctx: ToolContext<PhotoContext>) => {
    const m = await measureObject(ctx.context.image, ctx.context.pixelsPerCm);
    return { widthCm: m.widthCm, heightCm: m.heightCm, color: m.color, boxPixels: m.box };
  },
});

export const lookupProductTool = defineTool({
  name: 'lookup_product',
  description: 'Find packaging in the catalogue whose inner size fits an object of the given size, optionally in a colour.',
  input: z.object({
    minWidthCm: z.number().positive(),
    minHeightCm: z.number().positive(),
    color: z.string().optional().describe('e.g. red, blue, brown'),
  }),
  timeoutMs: 2_000,
  execute: ({ minWidthCm, minHeightCm, color }) => {
    const fits = CATALOGUE.filter((p) => p.innerWidthCm >= minWidthCm && p.innerHeightCm >= minHeightCm)
      // Smallest fitting box first: least wasted space.
      .sort((a, b) => a.innerWidthCm * a.innerHeightCm - b.innerWidthCm * b.innerHeightCm);
    const inColor = color ? fits.filter((p) => p.colors.includes(color)) : fits;
    return { products: (inColor.length ? inColor : fits).slice(0, 3), matchedColor: color ? inColor.length > 0 : undefined };
  },
});

export interface VisionAgentOptions {
  model: LanguageModel;
  /** e.g. Llama Guard 3 11B-Vision: checks the question and the photo, and the answer. */
  moderation?: Guard;
  sampling?: SamplingSettings;
}

/** Flags instructions hidden in tool results (supplier texts, web pages) and cuts them out. */
export const injectionGuard = new PatternGuard({
  name: 'injection-heuristic',
  patterns: [/\b(ignore|disregard) (all |any )?(previous|prior|above) instructions\b[^.]*\.?/i],
  category: 'prompt-injection',
  action: 'redact',
  replacement: '[removed: instruction in tool data]',
});

export function createVisionAgent(options: VisionAgentOptions): Agent<PhotoContext> {
  const moderation: GuardSetting[] = options.moderation ? [options.moderation] : [];
  return new Agent<PhotoContext>({
    model: options.model,
    tools: [measureTool, lookupProductTool],
    system: 'You help customers choose packaging. Measure the object in their photo with measure_object, then find packaging with lookup_product. Answer briefly.',
    guards: {
      input: [new SizeLimitGuard({ maxImages: 1, maxImageBytes: 10 * 1024 * 1024, maxTextLength: 2_000 }), { guard: new PiiGuard({ action: 'redact' }), action: 'redact' }, ...moderation],
      output: moderation,
      toolResult: [{ guard: injectionGuard, action: 'redact' }],
    },
    sampling: options.sampling,
    maxSteps: 5,
    // Guards first, then the model: redacted personal data never reaches the model, not even a cancelled step.
    inputGuardMode: 'sequential',
  });
}
