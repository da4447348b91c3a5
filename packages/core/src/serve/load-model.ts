import type { LanguageModel } from '@lookout/runtime';
import { OpenAICompatibleModel, listServedModels } from '@lookout/runtime';
import { LookoutError } from '@lookout/tools';

/** Where a command gets its model: an in-process model directory or a served engine. */
export interface ModelSource {
  modelDir?: string;
  baseUrl?: string;
  /** Model name on the served engine (required with baseUrl). */
  model?: string;
  apiKey?: string;
  device?: 'cpu' | 'cuda';
  /** Which ONNX build of modelDir (default: the one there; see OnnxModelLoadOptions.dtype). */
  dtype?: 'fp32' | 'fp16' | 'int4';
  /** False: the served engine takes no images (no vision projector). */
  images?: boolean;
}

/** A command's model flags that name no usable model (none, both kinds, an ambiguous engine). */
export class ModelSourceError extends LookoutError<'cli.model_source'> {
  constructor(message: string) {
    super('cli.model_source', message);
  }
}

type Loadable = { load(dir: string, options: Record<string, unknown>): Promise<LanguageModel & { dispose?(): Promise<void> }> };

/**
 * Opens the model a source names. OnnxModel is imported lazily so that served-engine users never
 * load onnxruntime, and so a runtime without it yet gives a clear error instead of failing to start.
 */
export async function loadLanguageModel(source: ModelSource): Promise<LanguageModel & { dispose?(): Promise<void> }> {
  if (source.modelDir && source.baseUrl) throw new ModelSourceError('give either --model-dir (in-process) or --base-url (served engine), not both');
  if (source.baseUrl) {
    const apiKey = source.apiKey ?? process.env.OPENAI_API_KEY;
    return new OpenAICompatibleModel({
      baseUrl: source.baseUrl,
      model: source.model ?? (await onlyServedModel(source.baseUrl, apiKey)),
      apiKey,
      ...(source.images === false ? { capabilities: { images: false } } : {}),
    });
  }
  if (source.modelDir) {
    const runtime = (await import('@lookout/runtime')) as unknown as { OnnxModel?: Loadable };
    if (!runtime.OnnxModel?.load)
      throw new ModelSourceError('this build of @lookout/runtime has no OnnxModel; use --base-url with a served engine instead');
    return runtime.OnnxModel.load(source.modelDir, { executionProvider: source.device ?? 'cpu', worker: true, ...(source.dtype ? { dtype: source.dtype } : {}) });
  }
  throw new ModelSourceError('no model given: pass --model-dir <dir> (a Llama 3.2 Vision directory) or --base-url <url> --model <name>');
}

/** Without --model, an engine that serves exactly one model needs no name. */
async function onlyServedModel(baseUrl: string, apiKey: string | undefined): Promise<string> {
  const names = await listServedModels(baseUrl, { apiKey });
  if (names.length === 1) return names[0];
  throw new ModelSourceError(
    names.length === 0
      ? `${baseUrl} serves no models`
      : `${baseUrl} serves ${names.length} models; pick one with --model: ${names.join(', ')}`,
  );
}
