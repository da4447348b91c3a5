import type { ModelSpec } from '../onnx/config.js';
import type { VisionInputs } from '../model/engine.js';
import { ropeInvFreq } from '../onnx/rope.js';

/**
 * An independent float64 forward pass of Llama / Mllama with plain loops, written from the
 * HF 4.45 model description, for tiny sizes only. Tests compare the ONNX graphs against it on
 * inputs no HF reference exists for (several images, partial tiles, a Llama checkpoint).
 */
export type Weights = (name: string) => Float32Array;

const MIN = -3.4028234663852886e38;

/** x [n, inF] times W^T (W [out, inF]) plus optional bias -> [n, out]. */
function linear(x: Float64Array, n: number, inF: number, w: Float32Array, out: number, bias?: Float32Array): Float64Array {
  const y = new Float64Array(n * out);
  for (let r = 0; r < n; r++) {
    for (let o = 0; o < out; o++) {
      let s = bias ? bias[o] : 0;
      for (let i = 0; i < inF; i++) s += x[r * inF + i] * w[o * inF + i];
      y[r * out + o] = s;
    }
  }
  return y;
}

function rmsNorm(x: Float64Array, dim: number, w: Float32Array, eps: number): Float64Array {
  const y = new Float64Array(x.length);
  for (let r = 0; r < x.length / dim; r++) {
    let ss = 0;
    for (let i = 0; i < dim; i++) ss += x[r * dim + i] ** 2;
    const k = 1 / Math.sqrt(ss / dim + eps);
    for (let i = 0; i < dim; i++) y[r * dim + i] = w[i] * x[r * dim + i] * k;
  }
  return y;
}

function layerNorm(x: Float64Array, dim: number, w: Float32Array, b: Float32Array, eps: number): Float64Array {
  const y = new Float64Array(x.length);
  for (let r = 0; r < x.length / dim; r++) {
    let mean = 0;
    for (let i = 0; i < dim; i++) mean += x[r * dim + i];
    mean /= dim;
    let v = 0;
    for (let i = 0; i < dim; i++) v += (x[r * dim + i] - mean) ** 2;
    const k = 1 / Math.sqrt(v / dim + eps);
    for (let i = 0; i < dim; i++) y[r * dim + i] = (x[r * dim + i] - mean) * k * w[i] + b[i];
  }
  return y;
}

function erf(x: number): number {
  // Abramowitz-Stegun 7.1.26 is too coarse for 1e-6 checks; use a series / continued fraction.
  const t = Math.abs(x);
  if (t < 3) {
    let sum = t;
    let term = t;
    for (let n = 1; n < 100; n++) {
      term *= (-t * t) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17) break;
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc continued fraction for large |x|
  let f = 0;
  for (let n = 60; n >= 1; n--) f = n / 2 / (t + f);
  const erfc = Math.exp(-t * t) / Math.sqrt(Math.PI) / (t + f);
  return Math.sign(x) * (1 - erfc);
}

/**
 * Multi-head attention for one sequence: q [Tq, nh*d], k/v [Tk, nkv*d], additive bias(i, j).
 * Returns [Tq, nh*d].
 */
function attention(q: Float64Array, k: Float64Array, v: Float64Array, Tq: number, Tk: number, nh: number, nkv: number, d: number, bias: (i: number, j: number) => number, qRowLen = nh * d, kRowLen = nkv * d): Float64Array {
  const out = new Float64Array(Tq * nh * d);
  const rep = nh / nkv;
  const scores = new Float64Array(Tk);
  for (let h = 0; h < nh; h++) {
    const kh = Math.floor(h / rep);
    for (let i = 0; i < Tq; i++) {
      let max = -Infinity;
      for (let j = 0; j < Tk; j++) {
        let s = 0;
        for (let e = 0; e < d; e++) s += q[i * qRowLen + h * d + e] * k[j * kRowLen + kh * d + e];
        s = s / Math.sqrt(d) + bias(i, j);
        scores[j] = s;
        if (s > max) max = s;
      }
      let sum = 0;
      for (let j = 0; j < Tk; j++) sum += (scores[j] = Math.exp(scores[j] - max));
      for (let j = 0; j < Tk; j++) {
        const p = scores[j] / sum;
        if (p === 0) continue;
        for (let e = 0; e < d; e++) out[i * nh * d + h * d + e] += p * v[j * kRowLen + kh * d + e];
      }
    }
  }
  return out;
}

function add(a: Float64Array, b: Float64Array, scale = 1): Float64Array {
  const y = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) y[i] = a[i] + scale * b[i];
  return y;
}

/** Vision encoder + projector: cross-attention states [images*tiles*P, text hidden]. */
export function referenceVision(spec: ModelSpec, W: Weights, vin: VisionInputs): Float64Array {
  const v = spec.vision!;
  const D = v.hiddenSize;
  const NT = v.maxNumTiles;
  const P = v.numPatches;
  const PP = v.paddedPatches;
  const PS = v.patchSize;
  const S = v.imageSize;
  const grid = Math.floor(S / PS);
  const Ht = spec.text.hiddenSize;
  const vp = 'vision_model';
  const nIn = v.intermediateLayersIndices.length;
  const out = new Float64Array(vin.numImages * NT * P * Ht);
  const tanh = (n: string) => Math.tanh(W(n)[0]);

  for (let img = 0; img < vin.numImages; img++) {
    const ar = vin.aspectRatioIds[img];
    const N = NT * PP;
    let h: Float64Array = new Float64Array(N * D);
    const patchW = W(`${vp}.patch_embedding.weight`);
    const pre = W(`${vp}.pre_tile_positional_embedding.embedding.weight`);
    const preGate = tanh(`${vp}.pre_tile_positional_embedding.gate`);
    const cls = W(`${vp}.class_embedding`);
    const pos = W(`${vp}.gated_positional_embedding.embedding`);
    const posGate = tanh(`${vp}.gated_positional_embedding.gate`);
    const tileEmb = W(`${vp}.gated_positional_embedding.tile_embedding.weight`);
    const tileRows = tileEmb.length / 9;
    for (let t = 0; t < NT; t++) {
      const tileBase = ((img * NT + t) * 3) * S * S;
      for (let p = 0; p < P; p++) {
        for (let d = 0; d < D; d++) {
          let x: number;
          if (p === 0) x = cls[d];
          else {
            const py = Math.floor((p - 1) / grid);
            const px = (p - 1) % grid;
            let s = 0;
            for (let c = 0; c < 3; c++)
              for (let i = 0; i < PS; i++)
                for (let j = 0; j < PS; j++) s += patchW[((d * 3 + c) * PS + i) * PS + j] * vin.pixelValues[tileBase + (c * S + py * PS + i) * S + px * PS + j];
            x = s + preGate * pre[ar * NT * D + t * D + d];
          }
          x += (1 - posGate) * pos[p * D + d];
          x += posGate * tileEmb[ar * tileRows + (t * P + p) * D + d];
          h[(t * PP + p) * D + d] = x;
        }
      }
    }
    // layernorm_pre over real rows; padded rows stay 0 (HF pads after the norm).
    const lnW = W(`${vp}.layernorm_pre.weight`);
    const lnB = W(`${vp}.layernorm_pre.bias`);
    for (let t = 0; t < NT; t++) {
      const rows = layerNorm(h.slice(t * PP * D, (t * PP + P) * D), D, lnW, lnB, v.normEps);
      h.set(rows, t * PP * D);
    }
    const invalid = (i: number): boolean => {
      const t = Math.floor(i / PP);
      const p = i % PP;
      if (PP === P) return true; // HF's `[-0:]` slice marks all patches
      return !(vin.aspectRatioMask[img][t] && p < P);
    };
    const bias = (i: number, j: number) => (invalid(i) && invalid(j) ? MIN : 0);
    const layer = (x: Float64Array, lp: string, gated: boolean): Float64Array => {
      const nh = v.numHeads;
      const hd = D / nh;
      const xn = layerNorm(x, D, W(`${lp}.input_layernorm.weight`), W(`${lp}.input_layernorm.bias`), v.normEps);
      const q = linear(xn, N, D, W(`${lp}.self_attn.q_proj.weight`), D);
      const k = linear(xn, N, D, W(`${lp}.self_attn.k_proj.weight`), D);
      const vv = linear(xn, N, D, W(`${lp}.self_attn.v_proj.weight`), D);
      const a = linear(attention(q, k, vv, N, N, nh, nh, hd, bias), N, D, W(`${lp}.self_attn.o_proj.weight`), D);
      const y = add(x, a, gated ? tanh(`${lp}.gate_attn`) : 1);
      const yn = layerNorm(y, D, W(`${lp}.post_attention_layernorm.weight`), W(`${lp}.post_attention_layernorm.bias`), v.normEps);
      const f1 = linear(yn, N, D, W(`${lp}.mlp.fc1.weight`), v.intermediateSize, W(`${lp}.mlp.fc1.bias`));
      for (let i = 0; i < f1.length; i++) f1[i] = 0.5 * f1[i] * (1 + erf(f1[i] / Math.SQRT2));
      const f2 = linear(f1, N, v.intermediateSize, W(`${lp}.mlp.fc2.weight`), D, W(`${lp}.mlp.fc2.bias`));
      return add(y, f2, gated ? tanh(`${lp}.gate_ffn`) : 1);
    };
    const hidden = [h];
    for (let l = 0; l < v.numLayers; l++) hidden.push((h = layer(h, `${vp}.transformer.layers.${l}`, false)));
    h = layerNorm(h, D, W(`${vp}.layernorm_post.weight`), W(`${vp}.layernorm_post.bias`), v.normEps);
    const post = W(`${vp}.post_tile_positional_embedding.embedding.weight`);
    const postGate = tanh(`${vp}.post_tile_positional_embedding.gate`);
    for (let i = 0; i < N; i++) for (let d = 0; d < D; d++) h[i * D + d] += postGate * post[ar * NT * D + Math.floor(i / PP) * D + d];
    for (let l = 0; l < v.numGlobalLayers; l++) h = layer(h, `${vp}.global_transformer.layers.${l}`, true);
    // vision output rows (padding dropped) and the projector
    const vod = D * (nIn + 1);
    const rows = new Float64Array(NT * P * vod);
    for (let t = 0; t < NT; t++) {
      for (let p = 0; p < P; p++) {
        const i = t * PP + p;
        const r = (t * P + p) * vod;
        for (let d = 0; d < D; d++) rows[r + d] = h[i * D + d];
        for (let d = 0; d < D; d++) for (let j = 0; j < nIn; j++) rows[r + D + d * nIn + j] = hidden[v.intermediateLayersIndices[j]][i * D + d];
      }
    }
    out.set(linear(rows, NT * P, vod, W('multi_modal_projector.weight'), Ht, W('multi_modal_projector.bias')), img * NT * P * Ht);
  }
  return out;
}

/**
 * Decoder forward over the whole sequence (no cache): logits [T, vocab]. With images, `dense`
 * is the [T][images][tiles] mask and `crossStates` the projector output.
 */
export function referenceDecoder(spec: ModelSpec, W: Weights, ids: number[], cross?: { states: Float64Array; dense: number[][][] }): Float64Array {
  const t = spec.text;
  const H = t.hiddenSize;
  const T = ids.length;
  const d = t.headDim;
  const p = t.prefix;
  const emb = W(`${p}.embed_tokens.weight`);
  let h: Float64Array = new Float64Array(T * H);
  for (let i = 0; i < T; i++) for (let e = 0; e < H; e++) h[i * H + e] = emb[ids[i] * H + e];
  const inv = ropeInvFreq(t);
  const rope = (x: Float64Array, heads: number): void => {
    for (let i = 0; i < T; i++)
      for (let hh = 0; hh < heads; hh++) {
        const base = i * heads * d + hh * d;
        for (let e = 0; e < d / 2; e++) {
          const ang = i * inv[e];
          const c = Math.cos(ang);
          const s = Math.sin(ang);
          const a = x[base + e];
          const b = x[base + e + d / 2];
          x[base + e] = a * c - b * s;
          x[base + e + d / 2] = b * c + a * s;
        }
      }
  };
  const mlp = (x: Float64Array, lp: string): Float64Array => {
    const g = linear(x, T, H, W(`${lp}.mlp.gate_proj.weight`), t.intermediateSize);
    const u = linear(x, T, H, W(`${lp}.mlp.up_proj.weight`), t.intermediateSize);
    for (let i = 0; i < g.length; i++) g[i] = (g[i] / (1 + Math.exp(-g[i]))) * u[i];
    return linear(g, T, t.intermediateSize, W(`${lp}.mlp.down_proj.weight`), H);
  };
  const crossSet = new Set(t.crossAttentionLayers);
  for (let l = 0; l < t.numLayers; l++) {
    const lp = `${p}.layers.${l}`;
    if (crossSet.has(l)) {
      if (!cross) continue; // HF skips cross layers without images
      const S = cross.states.length / H;
      const tokensPerTile = spec.vision!.numPatches;
      const a = `${lp}.cross_attn`;
      const x = rmsNorm(h, H, W(`${lp}.input_layernorm.weight`), t.rmsNormEps);
      const q = rmsNorm(linear(x, T, H, W(`${a}.q_proj.weight`), t.numHeads * d), d, W(`${a}.q_norm.weight`), t.rmsNormEps);
      const k = rmsNorm(linear(cross.states, S, H, W(`${a}.k_proj.weight`), t.numKvHeads * d), d, W(`${a}.k_norm.weight`), t.rmsNormEps);
      const v = linear(cross.states, S, H, W(`${a}.v_proj.weight`), t.numKvHeads * d);
      const sees = (i: number) => cross.dense[i].some((img) => img.some((x) => x));
      const bias = (i: number, j: number) => {
        if (!sees(i)) return 0;
        const tile = Math.floor(j / tokensPerTile);
        const NT = cross.dense[i][0].length;
        return cross.dense[i][Math.floor(tile / NT)][tile % NT] ? 0 : MIN;
      };
      const o = linear(attention(q, k, v, T, S, t.numHeads, t.numKvHeads, d, bias), T, t.numHeads * d, W(`${a}.o_proj.weight`), H);
      h = add(h, o, Math.tanh(W(`${lp}.cross_attn_attn_gate`)[0]));
      const m = mlp(rmsNorm(h, H, W(`${lp}.post_attention_layernorm.weight`), t.rmsNormEps), lp);
      for (let i = 0; i < T; i++) if (!sees(i)) m.fill(0, i * H, (i + 1) * H);
      h = add(h, m, Math.tanh(W(`${lp}.cross_attn_mlp_gate`)[0]));
    } else {
      const a = `${lp}.self_attn`;
      const x = rmsNorm(h, H, W(`${lp}.input_layernorm.weight`), t.rmsNormEps);
      const q = linear(x, T, H, W(`${a}.q_proj.weight`), t.numHeads * d);
      const k = linear(x, T, H, W(`${a}.k_proj.weight`), t.numKvHeads * d);
      const v = linear(x, T, H, W(`${a}.v_proj.weight`), t.numKvHeads * d);
      rope(q, t.numHeads);
      rope(k, t.numKvHeads);
      const o = attention(q, k, v, T, T, t.numHeads, t.numKvHeads, d, (i, j) => (j > i ? MIN : 0));
      h = add(h, linear(o, T, t.numHeads * d, W(`${a}.o_proj.weight`), H));
      h = add(h, mlp(rmsNorm(h, H, W(`${lp}.post_attention_layernorm.weight`), t.rmsNormEps), lp));
    }
  }
  h = rmsNorm(h, H, W(`${p}.norm.weight`), t.rmsNormEps);
  return linear(h, T, H, W(t.lmHead), t.vocabSize);
}
