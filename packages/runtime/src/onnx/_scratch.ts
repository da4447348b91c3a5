import { buildModel } from '/work/main/packages/runtime/src/onnx/build.js';
import { OnnxEngine } from '/work/main/packages/runtime/src/onnx/engine.js';
import { readSmallSafetensors } from '/work/main/packages/runtime/src/onnx/safetensors-source.js';
import { readFileSync } from 'node:fs';
const c = '/work/shared/reference/mllama/tiny-text';
const r = await buildModel(c, { outDir: '/tmp/tt-out', hiddenStates: true });
console.log(r.bytesWritten, r.tensors);
const e = await OnnxEngine.load('/tmp/tt-out');
const inp = JSON.parse(readFileSync(c + '/inputs.json', 'utf8'));
const ids = inp.input_ids[0];
const s = await e.prefill(ids, undefined, { allLogits: true });
const ref = readSmallSafetensors(c + '/tensors.safetensors');
const L = ref.get('logits')!.data;
let m = 0; for (let i = 0; i < L.length; i++) m = Math.max(m, Math.abs(L[i] - s.allLogits[i]));
console.log('maxdiff', m, L.length, s.allLogits.length);
const hs = ref.get('text_hidden_states')!;
const per = hs.data.length / (s.hiddenStates.length);
for (let i = 0; i < s.hiddenStates.length; i++) { let d = 0; for (let j = 0; j < per; j++) d = Math.max(d, Math.abs(hs.data[i*per+j] - s.hiddenStates[i][j])); console.log('h', i, d); }
const gen = JSON.parse(readFileSync(c + '/generation.json', 'utf8'));
const toks: number[] = [];
let lg = s.logits;
for (let k = 0; k < 12; k++) { let b = 0; for (let i = 1; i < lg.length; i++) if (lg[i] > lg[b]) b = i; toks.push(b); lg = await s.step(b); }
console.log(toks.join(','), '\n', gen.new_token_ids.join(','));
