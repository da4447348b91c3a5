import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVisionAgent } from '../agent.js';
import { measureObject, MeasureError } from '../measure.js';
import { scriptedPlanner } from '../planner.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
let dir: string;
let photo: string;
let redPhoto: string;

/** A blue 240 × 160 px object on a light background: 12 × 8 cm at 20 px/cm. */
async function drawPhoto(file: string, fill: string, w = 240, h = 160): Promise<void> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="400" height="300"><rect width="400" height="300" fill="#f4f4f0"/><rect x="90" y="70" width="${w}" height="${h}" fill="${fill}"/></svg>`;
  await sharp(Buffer.from(svg)).jpeg({ quality: 92 }).toFile(file);
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'lookout-vision-'));
  photo = path.join(dir, 'object.jpg');
  await drawPhoto(photo, '#2850c8');
  redPhoto = path.join(dir, 'red.jpg');
  await drawPhoto(redPhoto, '#c8282a');
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('measureObject', () => {
  it('finds the object, its size at the given scale and its colour', async () => {
    const m = await measureObject(new Uint8Array(await sharp(photo).toBuffer()), 20);
    expect(m.box).toMatchObject({ x: 90, y: 70, width: 240, height: 160 });
    expect([m.widthCm, m.heightCm, m.color]).toEqual([12, 8, 'blue']);
  });

  it('says so when nothing stands out from the background', async () => {
    const blank = await sharp({ create: { width: 50, height: 50, channels: 3, background: '#ffffff' } }).png().toBuffer();
    await expect(measureObject(new Uint8Array(blank), 20)).rejects.toBeInstanceOf(MeasureError);
  });
});

describe('vision agent', () => {
  it('runs from the command line: measures, looks up packaging, redacts the injected supplier text', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'examples/vision-agent/main.ts', redPhoto, 'What box fits this? I am bob@example.com', '--px-per-cm', '20'], { cwd: root });
    expect(stdout).toContain('[guard] input pii: redacted pii:email');
    expect(stdout).toContain('[tool] measure_object {}');
    expect(stdout).toContain('[tool] lookup_product {"minWidthCm":13,"minHeightCm":9,"color":"red"}');
    expect(stdout).toContain('[guard] tool-result injection-heuristic: redacted prompt-injection');
    expect(stdout).toContain('The red object measures 12 × 8 cm.');
    expect(stdout).toContain('Medium gift box (BOX-M, 14 × 10 cm');
    expect(stdout).toContain('Padded sleeve M (SLV-M, 15 × 11 cm, €3.2): Bubble-lined sleeve. [removed: instruction in tool data]');
    expect(stdout).not.toMatch(/ignore previous instructions/i);
    expect(stdout).toContain('[done] completed, 3 model steps');
  });

  it('sends the photo to the model and keeps personal data and injected text away from it', async () => {
    const model = scriptedPlanner();
    const agent = createVisionAgent({ model });
    const image = new Uint8Array(await sharp(photo).toBuffer());
    // At 10 px/cm the object is 24 × 16 cm: only the large box fits (no blue one, so any colour).
    const result = await agent.run([{ type: 'text', text: 'Card 4111 1111 1111 1111, which box?' }, { type: 'image', image }], { context: { image, pixelsPerCm: 10 } });
    expect(result.status).toBe('completed');
    expect(result.text).toContain('The blue object measures 24 × 16 cm.');
    expect(result.text).toContain('Large shipping box');
    // Every request, not only the last: the input guards run before the model sees anything.
    for (const request of model.requests) expect(JSON.stringify(request.messages!.find((m) => m.role === 'user'))).not.toContain('4111');
    expect(JSON.stringify(model.requests[0]!.messages)).toContain('[REDACTED:CARD]');
    expect(model.requests.at(-1)!.messages!.find((m) => m.role === 'user')).toMatchObject({ content: [{ type: 'text' }, { type: 'image' }] });
  });

  it('fails with a clear message for a missing photo', async () => {
    const run = promisify(execFile)(process.execPath, ['--import', 'tsx', 'examples/vision-agent/main.ts', path.join(dir, 'nope.jpg')], { cwd: root });
    await expect(run).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('cannot read') });
  });
});
