import type { CliCommand } from '../command.js';
import { intOption, parseCliArgs } from '../command.js';
import { MODEL_OPTIONS, modelSourceOptions } from '../model-options.js';
import { LookoutServer } from '../../serve/server.js';
import { loadLanguageModel } from '../../serve/load-model.js';
import { isLoopbackAddress } from '../../serve/request-checks.js';

const usage = `Usage: lookout serve (--model-dir <dir> | --base-url <url> --model <name>) [options]

Serves a model over the OpenAI chat-completions API:
  POST /v1/chat/completions, POST /v1/completions, GET /v1/models, GET /v1/models/{id}, GET /health
  (chat: response_format json_object / json_schema and tool_choice required / a named function
  are enforced at decode time by the in-process model, forwarded to a --base-url engine)

Model (one of):
  --model-dir <dir>       Llama 3.2 Vision directory, run in-process on onnxruntime
  --device cpu|cuda       execution provider for --model-dir (default cpu)
  --dtype fp32|fp16|int4  which build of --model-dir (default: the one there, else fp32 on cpu, fp16 on cuda)
  --base-url <url>        front another OpenAI-compatible engine (e.g. http://gpu-1:8000/v1)
  --model <name>          model name on that engine (optional when it serves only one)
  --api-key <key>         bearer token for that engine (default $OPENAI_API_KEY)
  --no-images             the model takes no images (an engine without a vision projector):
                          image input gets 400 images_unsupported instead of reaching it

Server:
  --name <name>           model name clients send and /v1/models lists (default: the model id)
  --host <host>           interface to listen on (default 127.0.0.1; 0.0.0.0 for all)
  --port <port>           port (default 8000; 0 picks a free one)
  --max-concurrent <n>    requests generating at once (default 1)
  --max-queued <n>        requests waiting before 429 + Retry-After (default 16)
  --max-body-mb <n>       largest request body in MiB (default 20)
  --allow-image-urls      let the model fetch http(s) image URLs from requests (off: SSRF risk)
  --require-key <key>     clients must send "Authorization: Bearer <key>" (or set
                          LOOKOUT_SERVE_API_KEY; comma-separate several keys); /health stays open
  --allowed-hosts <list>  comma-separated host names the Host header may carry, besides localhost,
                          127.0.0.1, [::1] and --host ("*" = any). On a loopback --host only those
                          are answered (others get 403: DNS rebinding); on other addresses any host
                          is, unless this flag lists names
  --keep-alive <s>        streamed replies silent this long (queue wait, long prefill) get an SSE
                          comment every <s> seconds so clients and proxies do not time out
                          (default 15; 0 = off)
  --shutdown-timeout <s>  on SIGINT/SIGTERM, seconds to let in-flight requests finish (default 30)
  --quiet                 no per-request log lines
`;

const serve: CliCommand = {
  name: 'serve',
  summary: 'serve a model over the OpenAI-compatible HTTP API',
  usage,
  async run(argv, io) {
    const { values } = parseCliArgs(argv, {
      ...MODEL_OPTIONS,
      name: { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      'max-concurrent': { type: 'string' },
      'max-queued': { type: 'string' },
      'max-body-mb': { type: 'string' },
      'allow-image-urls': { type: 'boolean' },
      'no-images': { type: 'boolean' },
      'require-key': { type: 'string' },
      'shutdown-timeout': { type: 'string' },
      'keep-alive': { type: 'string' },
      'allowed-hosts': { type: 'string' },
      quiet: { type: 'boolean' },
    });
    const source = modelSourceOptions(values);
    const port = intOption(values.port, '--port', 8000, 0, 65535);
    const maxConcurrent = intOption(values['max-concurrent'], '--max-concurrent', 1, 1);
    const maxQueued = intOption(values['max-queued'], '--max-queued', 16, 0);
    const maxBodyMb = intOption(values['max-body-mb'], '--max-body-mb', 20, 1, 1024);
    const shutdownSeconds = intOption(values['shutdown-timeout'], '--shutdown-timeout', 30, 0);
    const keepAliveSeconds = intOption(values['keep-alive'], '--keep-alive', 15, 0, 3600);

    const allowedHosts = (values['allowed-hosts'] ?? '')
      .split(',')
      .map((h) => h.trim())
      .filter(Boolean);
    const apiKeys = (values['require-key'] ?? process.env.LOOKOUT_SERVE_API_KEY ?? '')
      .split(',')
      .map((k) => k.trim())
      .filter(Boolean);

    const images = values['no-images'] ? false : undefined;
    const model = await loadLanguageModel({ ...source, ...(images === false ? { images } : {}) });
    const server = new LookoutServer({
      model,
      modelName: values.name ?? values.model ?? model.id,
      maxConcurrent,
      maxQueued,
      maxBodyBytes: maxBodyMb * 1024 * 1024,
      allowImageUrls: values['allow-image-urls'] ?? false,
      ...(images === false ? { images } : {}),
      apiKeys,
      allowedHosts,
      shutdownTimeoutMs: shutdownSeconds * 1000,
      keepAliveMs: keepAliveSeconds * 1000,
      log: values.quiet ? undefined : (line) => io.stderr.write(`${new Date().toISOString()} ${line}\n`),
    });
    const host = values.host ?? '127.0.0.1';
    const url = await server.listen(port, host);
    if (!isLoopbackAddress(host) && apiKeys.length === 0)
      io.stderr.write(`lookout serve: listening on ${host} without --require-key: anyone who can reach this address can generate\n`);
    io.stdout.write(`lookout serve: listening on ${url} (model "${server.modelName}", ${maxConcurrent} concurrent, ${maxQueued} queued)\n`);

    await new Promise<void>((resolve) => {
      const stop = (signal: NodeJS.Signals) => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        io.stdout.write(`lookout serve: ${signal}, finishing in-flight requests\n`);
        resolve();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    await server.close();
    await model.dispose?.();
    io.stdout.write('lookout serve: stopped\n');
    return 0;
  },
};

export default serve;
