import type { CliCommand, CliIo } from '../command.js';
import { parseCliArgs } from '../command.js';

const usage = `Usage:
  lookout verify --images <dir> [--json] [--tolerance <abs>]
  lookout verify <case-dir> [--json] [--dtype fp32|fp16|int4] [--tolerance <abs>]

--images <dir>   Check the image processor against a reference directory holding
                 preprocessor_config.json, images/, expected.json and expected.safetensors
                 (e.g. shared/reference/image_processor). Prints, per image, the largest
                 absolute pixel difference and whether tile count, aspect-ratio id and mask,
                 canvas and resized size match. Exits 1 when any image is past tolerance.
--tolerance <x>  Images: largest accepted absolute pixel difference (default 1e-6).
                 Case dir: largest accepted logit difference (verifyCase's default by
                 dtype: fp32 2e-4, fp16 5e-2, int4 greedy tokens only).
<case-dir>       Check the ONNX engine against a model reference case (e.g.
                 shared/reference/mllama/tiny-a), via verifyCase from @lookout/runtime:
                 builds the graphs, compares logits, hidden states and greedy tokens.
--dtype <d>      Weight type to build the case with (default fp32).
--json           Print the full report as JSON.
`;

const mark = (ok: boolean | undefined) => (ok === undefined ? '-' : ok ? 'ok' : 'MISMATCH');

async function verifyImages(dir: string, json: boolean, tolerance: number | undefined, io: CliIo): Promise<number> {
  const { verifyImageReference } = await import('@lookout/runtime');
  const report = await verifyImageReference(dir, { tolerance });
  if (json) {
    io.stdout.write(JSON.stringify(report, null, 2) + '\n');
    return report.pass ? 0 : 1;
  }
  io.stdout.write(`image processor vs ${report.dir} (pixel tolerance ${report.tolerance})\n`);
  for (const r of report.results) {
    const name = `#${r.index} ${r.file}`;
    if (!r.present) {
      io.stdout.write(`  ${name}: skipped (file not in images/)\n`);
      continue;
    }
    if (r.error) {
      io.stdout.write(`  ${name}: FAIL (${r.error})\n`);
      continue;
    }
    io.stdout.write(
      `  ${name}: maxAbsDiff ${r.maxAbsDiff}` +
        (r.valuesOverTolerance ? ` (${r.valuesOverTolerance} values over tolerance)` : '') +
        `, tiles ${r.numTiles?.actual}/${r.numTiles?.expected} ${mark(r.tilesMatch)}` +
        `, aspect_ratio_id ${mark(r.aspectRatioIdMatch)}, aspect_ratio_mask ${mark(r.aspectRatioMaskMatch)}` +
        `, canvas ${mark(r.canvasMatch)}, resized ${mark(r.resizedMatch)}, sha256 ${mark(r.sha256Match)}` +
        ` -> ${r.pass ? 'PASS' : 'FAIL'}\n`,
    );
  }
  io.stdout.write(`${report.checked} checked, ${report.skipped} skipped: ${report.pass ? 'PASS' : 'FAIL'}\n`);
  return report.pass ? 0 : 1;
}

/** Suggested f32 logits tolerance of the model reference (shared/reference/README.md). */
const FP32_LOGITS_TOLERANCE = 2e-4;

/** The ONNX check lives in runtime/onnx; it is looked up at run time so this command works before it exists. */
async function verifyModelCase(caseDir: string, json: boolean, dtype: string | undefined, tolerance: number | undefined, io: CliIo): Promise<number> {
  const runtime = (await import('@lookout/runtime')) as unknown as Record<string, unknown>;
  const verifyCase = runtime.verifyCase as ((dir: string, opts: { json?: boolean; dtype?: string; tolerance?: number }) => Promise<unknown>) | undefined;
  if (typeof verifyCase !== 'function') {
    io.stderr.write('lookout verify: checking a model case needs verifyCase from @lookout/runtime (onnx/), which this build does not have yet. Use --images <dir> to check the image processor.\n');
    return 2;
  }
  const report = (await verifyCase(caseDir, { json, ...(dtype ? { dtype } : {}), ...(tolerance !== undefined ? { tolerance } : {}) })) as Record<string, unknown>;
  const pass = casePasses(report, dtype ?? 'fp32', tolerance);
  io.stdout.write((json ? JSON.stringify({ ...report, pass }, null, 2) : `${formatGeneric(report)}\n${pass ? 'PASS' : 'FAIL'}`) + '\n');
  return pass ? 0 : 1;
}

/** The report's own `pass` wins; for a report without one, greedy tokens must match and, for fp32 or an explicit tolerance, the logits too. */
function casePasses(report: Record<string, unknown>, dtype: string, tolerance: number | undefined): boolean {
  if (typeof report.pass === 'boolean') return report.pass;
  if (report.greedyMatch === false) return false;
  const limit = tolerance ?? (dtype === 'fp32' ? FP32_LOGITS_TOLERANCE : undefined);
  if (limit !== undefined && typeof report.maxAbsDiff === 'number' && !(report.maxAbsDiff <= limit)) return false;
  return true;
}

/** Key: value lines for a report whose shape this command does not know. */
function formatGeneric(value: unknown, indent = ''): string {
  if (value === null || typeof value !== 'object') return `${indent}${String(value)}`;
  return Object.entries(value as Record<string, unknown>)
    .map(([k, v]) => (v !== null && typeof v === 'object' && !Array.isArray(v) ? `${indent}${k}:\n${formatGeneric(v, indent + '  ')}` : `${indent}${k}: ${Array.isArray(v) ? JSON.stringify(v) : String(v)}`))
    .join('\n');
}

const command: CliCommand = {
  name: 'verify',
  summary: 'Check the image processor (--images) or the ONNX engine (case dir) against reference outputs',
  usage,
  async run(argv, io) {
    let parsed;
    try {
      parsed = parseCliArgs(
        argv,
        {
          images: { type: 'string' },
          json: { type: 'boolean', default: false },
          tolerance: { type: 'string' },
          dtype: { type: 'string' },
        },
        true,
      );
    } catch (err) {
      io.stderr.write(`lookout verify: ${(err as Error).message}\n\n${usage}`);
      return 2;
    }
    const { values, positionals } = parsed;
    let tolerance: number | undefined;
    if (values.tolerance !== undefined) {
      tolerance = Number(values.tolerance);
      if (!(Number.isFinite(tolerance) && tolerance >= 0)) {
        io.stderr.write(`lookout verify: --tolerance must be a non-negative number, got "${values.tolerance}"\n`);
        return 2;
      }
    }
    try {
      if (values.images !== undefined) {
        if (positionals.length) {
          io.stderr.write('lookout verify: give either --images <dir> or a case directory, not both\n');
          return 2;
        }
        return await verifyImages(values.images, values.json ?? false, tolerance, io);
      }
      if (positionals.length !== 1) {
        io.stderr.write(`lookout verify: expected --images <dir> or one case directory\n\n${usage}`);
        return 2;
      }
      return await verifyModelCase(positionals[0], values.json ?? false, values.dtype, tolerance, io);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      io.stderr.write(`lookout verify: ${code ? `[${String(code)}] ` : ''}${(err as Error).message}\n`);
      return 1;
    }
  },
};

export default command;
