"""Trains a small byte-level LlamaForCausalLM on offline English text and writes it as the
trained-llama test fixture (src/onnx/fixtures/trained-llama), with Hugging Face's own logits
for a held-out prompt so the ONNX builds can be checked against it.

The int4 build's quantisation error on random weights says nothing about trained models; this
checkpoint is small enough to commit yet trained enough that its weights have real structure.

Usage (from the repository root; see README.md beside this file):

  /tmp/hfvenv/bin/python packages/runtime/scripts/train-tiny/train_llama.py \
      --out packages/runtime/src/onnx/fixtures/trained-llama

Deterministic: fixed seed, one thread, a fixed number of steps, a corpus of fixed files.
"""

import argparse
import glob
import hashlib
import json
import math
import os
import platform
import sys
import time

import numpy as np
import torch
import transformers
from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

# Byte-level vocabulary: ids 0..255 are bytes, then the two specials.
BOS = 256
EOS = 257
VOCAB = 258

# A sentence that is not in the corpus (checked below); licence-flavoured so the model has
# something to predict.
HELD_OUT_PROMPT = "The lighthouse keeper may copy and share this notice, provided that every copy keeps the same terms."

DEFAULT_CORPUS = "/usr/share/common-licenses/*"
GREEDY_TOKENS = 32
# The corpus's last tokens are never trained on; their loss is logged beside the training loss.
VALIDATION_TOKENS = 8192


def read_corpus(patterns):
    # Real files only (the folder has symlinks to the same texts), sorted for a fixed order.
    paths = sorted({os.path.realpath(p) for pat in patterns for p in glob.glob(pat, recursive=True) if os.path.isfile(p)})
    if not paths:
        sys.exit(f"no corpus files matched {patterns}")
    ids = []
    digest = hashlib.sha256()
    for p in paths:
        data = open(p, "rb").read()
        digest.update(data)
        ids.append(BOS)
        ids.extend(data)
        ids.append(EOS)
    return paths, np.array(ids, dtype=np.int64), digest.hexdigest()


def make_model(seed):
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=VOCAB,
        hidden_size=128,
        intermediate_size=384,
        num_hidden_layers=4,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=32,
        hidden_act="silu",
        max_position_embeddings=2048,
        rms_norm_eps=1e-5,
        rope_theta=500000.0,
        tie_word_embeddings=False,
        attention_bias=False,
        mlp_bias=False,
        bos_token_id=BOS,
        eos_token_id=EOS,
    )
    return LlamaForCausalLM(config)


def lr_at(step, steps, peak, warmup):
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, steps - warmup)
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


@torch.no_grad()
def validation_loss(model, val, seq_len):
    model.eval()
    usable = (len(val) - 1) // seq_len * seq_len
    x = torch.from_numpy(val[: usable + 1])
    inputs = x[:-1].view(-1, seq_len)
    targets = x[1:].view(-1, seq_len)
    logits = model(input_ids=inputs).logits
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1)).item()
    model.train()
    return loss


def train(model, corpus, val, args):
    gen = torch.Generator().manual_seed(args.seed)
    data = torch.from_numpy(corpus)
    n = len(data) - args.seq_len - 1
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.95), weight_decay=0.1)
    curve = []
    model.train()
    started = time.time()
    running = None
    for step in range(args.steps):
        for group in opt.param_groups:
            group["lr"] = lr_at(step, args.steps, args.lr, args.warmup)
        starts = torch.randint(0, n, (args.batch,), generator=gen)
        batch = torch.stack([data[s : s + args.seq_len + 1] for s in starts.tolist()])
        out = model(input_ids=batch[:, :-1], labels=batch[:, :-1].clone())
        # HF shifts labels itself: logits at t predict labels at t + 1.
        opt.zero_grad(set_to_none=True)
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        loss = out.loss.item()
        running = loss if running is None else 0.9 * running + 0.1 * loss
        if step == 0 or (step + 1) % args.log_every == 0:
            entry = {
                "step": step + 1, "loss": round(loss, 4), "smoothed": round(running, 4),
                "validation": round(validation_loss(model, val, args.seq_len), 4), "seconds": round(time.time() - started, 1),
            }
            curve.append(entry)
            print(json.dumps(entry), flush=True)
    return curve


@torch.no_grad()
def held_out_loss(model, ids):
    model.eval()
    x = torch.tensor([ids])
    return model(input_ids=x, labels=x).loss.item()


@torch.no_grad()
def reference(out_dir, prompt_ids):
    # Reload what was saved (BF16) and compute in float32: exactly what the fp32 build runs.
    model = LlamaForCausalLM.from_pretrained(out_dir, dtype=torch.float32, attn_implementation="eager")
    model.eval()
    x = torch.tensor([prompt_ids])
    logits = model(input_ids=x).logits[0].float().numpy()
    gen = model.generate(
        x, max_new_tokens=GREEDY_TOKENS, min_new_tokens=GREEDY_TOKENS, do_sample=False,
        eos_token_id=None, pad_token_id=EOS,
    )
    return logits, gen[0, len(prompt_ids):].tolist()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--corpus", action="append", help=f"glob of text files (repeatable; default {DEFAULT_CORPUS})")
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--seq-len", type=int, default=128)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--log-every", type=int, default=100)
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    paths, corpus, corpus_sha = read_corpus(args.corpus or [DEFAULT_CORPUS])
    prompt_bytes = HELD_OUT_PROMPT.encode("utf-8")
    if prompt_bytes in corpus.astype(np.uint8).tobytes():
        sys.exit("the held-out prompt occurs in the corpus; choose another sentence")
    prompt_ids = [BOS] + list(prompt_bytes)
    print(f"corpus: {len(paths)} files, {len(corpus)} tokens, sha256 {corpus_sha}", flush=True)
    corpus, val = corpus[:-VALIDATION_TOKENS], corpus[-VALIDATION_TOKENS:]

    model = make_model(args.seed)
    params = sum(p.numel() for p in model.parameters())
    print(f"parameters: {params}", flush=True)
    before = held_out_loss(model, prompt_ids)
    curve = train(model, corpus, val, args)
    after = held_out_loss(model, prompt_ids)
    print(f"held-out prompt loss: {before:.4f} before, {after:.4f} after", flush=True)

    os.makedirs(args.out, exist_ok=True)
    model = model.to(torch.bfloat16)
    model.generation_config = GenerationConfig(bos_token_id=BOS, eos_token_id=EOS, do_sample=False)
    model.save_pretrained(args.out, safe_serialization=True)

    logits, greedy = reference(args.out, prompt_ids)
    logits.astype("<f4").tofile(os.path.join(args.out, "expected-logits.f32"))
    with open(os.path.join(args.out, "prompt.json"), "w") as f:
        json.dump({"text": HELD_OUT_PROMPT, "input_ids": prompt_ids}, f, indent=1)
        f.write("\n")
    with open(os.path.join(args.out, "expected-logits.json"), "w") as f:
        json.dump({
            "file": "expected-logits.f32",
            "dtype": "float32",
            "byte_order": "little",
            "shape": list(logits.shape),
            "what": "LlamaForCausalLM logits of every prompt position (weights as saved, computed in float32, eager attention)",
            "greedy_new_ids": greedy,
        }, f, indent=1)
        f.write("\n")
    with open(os.path.join(args.out, "training.json"), "w") as f:
        json.dump({
            "script": "packages/runtime/scripts/train-tiny/train_llama.py",
            "args": vars(args),
            "parameters": params,
            "corpus": {"files": paths, "train_tokens": int(len(corpus)), "validation_tokens": VALIDATION_TOKENS, "sha256": corpus_sha},
            "held_out_loss": {"before": round(before, 4), "after": round(after, 4)},
            "curve": curve,
            "versions": {"python": platform.python_version(), "torch": torch.__version__, "transformers": transformers.__version__},
        }, f, indent=1)
        f.write("\n")
    print(f"wrote {args.out}; greedy continuation: {bytes(t for t in greedy if t < 256)!r}", flush=True)


if __name__ == "__main__":
    main()
