#!/usr/bin/python3
"""Reference trainer for learning parity: HF BertForQuestionAnswering fine-tuning in PyTorch.

Regenerate (Debian: apt-get install -y python3-torch libopenblas0-pthread):
    /usr/bin/python3 tools/parity_trainer.py
Writes tests/fixtures/parity/:
  config.json         a tiny BERT (vocab 200, hidden 32, 2 layers, 2 heads, FFN 64), dropout 0
  model.safetensors   the fixed initial weights, HF names, float32
  batches.safetensors 8 batches of 4 x 24 (input_ids, token_type_ids, attention_mask,
                      start_positions, end_positions, each [8, 4, ...]), cycled: step t uses
                      batch (t - 1) % 8; rows are padded with id 0 and some answer positions are
                      past the sequence (ignored) or negative (clamped to 0), as HF does
  golden_loss.json    the training loss every `log_every` steps over `steps`, and at every step
                      of the first `short_steps`
Training follows HF's Trainer on float32 weights, on the CPU: torch.optim.AdamW(lr 1e-3, betas
(0.9, 0.999), eps 1e-8), weight decay 0.01 except biases and LayerNorm weights (0), LambdaLR with
get_linear_schedule_with_warmup's lambda (warmup 10% of the steps), clip_grad_norm_(1.0); the
loss is the one of each step's forward pass, before its update.

The model is written out as equations (as tools/bert_golden.py), with one HF detail that only
training shows: nn.Embedding(padding_idx=pad_token_id) gives the [PAD] row of the word
embeddings no gradient, so padded positions never move it. `--no-padding-idx` drops that (plain
indexing, as tools/bert_golden.py) and records "padding_idx": false in golden_loss.json: a
diagnostic, to measure how much that detail moves the curve (about 2% by step 50, 35% later).
"""
import json
import math
import os
import struct
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bert_golden import forward, write_safetensors  # noqa: E402  (the same HF equations)

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "parity")

CONFIG = dict(vocab_size=200, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
              intermediate_size=64, hidden_act="gelu", max_position_embeddings=64, type_vocab_size=2,
              layer_norm_eps=1e-12, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
              pad_token_id=0, initializer_range=0.1)
TRAIN = dict(steps=300, log_every=10, short_steps=50, lr=1e-3, weight_decay=0.01, warmup_ratio=0.1,
             max_grad_norm=1.0, betas=[0.9, 0.999], eps=1e-8)
N_BATCHES, BATCH, SEQ = 8, 4, 24


def make_params(cfg, gen):
    """HF-like init at std `initializer_range`, with small random biases and LayerNorm affine so
    that every parameter's path is exercised; the [PAD] row starts at zero as HF inits it."""
    h, i, v = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    std = cfg["initializer_range"]
    p = {}

    def normal(*shape, s=std):
        return (torch.randn(*shape, generator=gen) * s).float()

    def ln(name):
        p[name + ".weight"] = (1 + normal(h, s=0.05)).float()
        p[name + ".bias"] = normal(h, s=0.05)

    def linear(name, out_dim, in_dim):
        p[name + ".weight"] = normal(out_dim, in_dim)
        p[name + ".bias"] = normal(out_dim, s=0.02)

    p["bert.embeddings.word_embeddings.weight"] = normal(v, h)
    p["bert.embeddings.word_embeddings.weight"][cfg["pad_token_id"]] = 0
    p["bert.embeddings.position_embeddings.weight"] = normal(cfg["max_position_embeddings"], h)
    p["bert.embeddings.token_type_embeddings.weight"] = normal(cfg["type_vocab_size"], h)
    ln("bert.embeddings.LayerNorm")
    for l in range(cfg["num_hidden_layers"]):
        pre = f"bert.encoder.layer.{l}."
        for n in ("query", "key", "value"):
            linear(pre + "attention.self." + n, h, h)
        linear(pre + "attention.output.dense", h, h)
        ln(pre + "attention.output.LayerNorm")
        linear(pre + "intermediate.dense", i, h)
        linear(pre + "output.dense", h, i)
        ln(pre + "output.LayerNorm")
    linear("qa_outputs", 2, h)
    return p


def make_batches(cfg, gen):
    """QA-shaped windows: [CLS] question [SEP] context [SEP] then [PAD]s; each batch has one
    unpadded row (so trimming to the longest window keeps S = SEQ) and at least one in-range
    start and end (an all-ignored batch would make HF's mean loss NaN)."""
    shape = (N_BATCHES, BATCH, SEQ)
    ids = torch.zeros(shape, dtype=torch.int32)
    types = torch.zeros(shape, dtype=torch.int32)
    mask = torch.zeros(shape, dtype=torch.int32)
    start = torch.zeros((N_BATCHES, BATCH), dtype=torch.int32)
    end = torch.zeros((N_BATCHES, BATCH), dtype=torch.int32)

    def rand(lo, hi):
        return int(torch.randint(lo, hi, (1,), generator=gen))

    for b in range(N_BATCHES):
        for r in range(BATCH):
            n = SEQ if r == b % BATCH else rand(10, SEQ)
            q = rand(3, 7)
            ids[b, r, :n] = torch.randint(5, cfg["vocab_size"], (n,), generator=gen, dtype=torch.int32)
            ids[b, r, 0], ids[b, r, q], ids[b, r, n - 1] = 2, 3, 3
            types[b, r, q + 1:n] = 1
            mask[b, r, :n] = 1
            kind = (b * BATCH + r) % 8
            if kind == 5:  # no answer in this window: [CLS]
                s = e = 0
            elif kind == 6:  # past the sequence: clamped to S, then ignored
                s, e = SEQ + rand(0, 20), rand(q + 1, n - 1)
            elif kind == 7:  # negative: clamped to 0
                s, e = rand(q + 1, n - 1), -1
            else:
                s = rand(q + 1, n - 1)
                e = min(s + rand(0, 4), n - 2)
            start[b, r], end[b, r] = s, e
    return {"input_ids": ids, "token_type_ids": types, "attention_mask": mask,
            "start_positions": start, "end_positions": end}


def train(cfg, init, batches, padding_idx=True):
    """Returns the loss of every step (1-based step t at index t - 1)."""
    p = {k: v.clone().requires_grad_(True) for k, v in init.items()}
    # HF Trainer: no decay on biases and LayerNorm weights.
    no_decay = [n for n in p if n.endswith(".bias") or "LayerNorm" in n]
    groups = [
        {"params": [p[n] for n in p if n not in no_decay], "weight_decay": TRAIN["weight_decay"]},
        {"params": [p[n] for n in no_decay], "weight_decay": 0.0},
    ]
    opt = torch.optim.AdamW(groups, lr=TRAIN["lr"], betas=tuple(TRAIN["betas"]), eps=TRAIN["eps"])
    total = TRAIN["steps"]
    warmup = math.floor(TRAIN["warmup_ratio"] * total)

    def lr_lambda(step):  # transformers.get_linear_schedule_with_warmup
        if step < warmup:
            return step / max(1, warmup)
        return max(0.0, (total - step) / max(1, total - warmup))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda)
    losses = []
    for step in range(1, total + 1):
        i = (step - 1) % N_BATCHES
        args = [batches[k][i].long() for k in
                ("input_ids", "token_type_ids", "attention_mask", "start_positions", "end_positions")]
        _, _, loss = forward(cfg, p, *args, padding_idx=padding_idx)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(list(p.values()), TRAIN["max_grad_norm"])
        opt.step()
        sched.step()
        opt.zero_grad()
        losses.append(loss.item())
    return losses


def main():
    torch.set_num_threads(1)  # a fixed summation order: the curve is reproducible bit for bit
    padding_idx = "--no-padding-idx" not in sys.argv
    gen = torch.Generator().manual_seed(4)
    init = make_params(CONFIG, gen)
    batches = make_batches(CONFIG, gen)
    losses = train(CONFIG, init, batches, padding_idx)
    every = TRAIN["log_every"]
    logged = [{"step": t, "loss": losses[t - 1]} for t in range(every, TRAIN["steps"] + 1, every)]
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "config.json"), "w") as f:
        json.dump({**CONFIG, "architectures": ["BertForQuestionAnswering"], "model_type": "bert"}, f,
                  indent=2)
        f.write("\n")
    write_safetensors(os.path.join(OUT, "model.safetensors"), init)
    write_safetensors(os.path.join(OUT, "batches.safetensors"), batches)
    golden = {
        "generator": "tools/parity_trainer.py (torch %s, float32, CPU, 1 thread)" % torch.__version__,
        "train": {**TRAIN, "padding_idx": padding_idx, "warmup": math.floor(TRAIN["warmup_ratio"] * TRAIN["steps"]),
                  "batches": N_BATCHES, "batch_size": BATCH, "seq": SEQ},
        "logged": logged,
        "short": losses[:TRAIN["short_steps"]],
    }
    with open(os.path.join(OUT, "golden_loss.json"), "w") as f:
        json.dump(golden, f, indent=1)
        f.write("\n")
    for r in logged:
        print(r["step"], round(r["loss"], 6))


if __name__ == "__main__":
    main()
