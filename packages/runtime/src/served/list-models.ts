import { ServedConnectionError, ServedHttpError, ServedProtocolError } from './errors.js';

/** GET {baseUrl}/models: the model names an OpenAI-compatible engine serves. */
export async function listServedModels(baseUrl: string, options: { apiKey?: string; timeoutMs?: number; fetch?: typeof fetch } = {}): Promise<string[]> {
  const url = `${baseUrl.replace(/\/+$/, '')}/models`;
  const headers: Record<string, string> = { accept: 'application/json' };
  if (options.apiKey) headers.authorization = `Bearer ${options.apiKey}`;
  let response: Response;
  try {
    response = await (options.fetch ?? globalThis.fetch)(url, { headers, signal: AbortSignal.timeout(options.timeoutMs ?? 10_000) });
  } catch (err) {
    throw new ServedConnectionError(url, err, 0);
  }
  const text = await response.text();
  if (!response.ok) throw new ServedHttpError(response.status, url, text.slice(0, 500));
  try {
    const body = JSON.parse(text) as { data?: Array<{ id?: unknown }> };
    if (!Array.isArray(body.data)) throw new Error('no data array');
    return body.data.map((m) => String(m.id));
  } catch {
    throw new ServedProtocolError(`${url} did not answer with an OpenAI model list: ${text.slice(0, 500)}`);
  }
}
