#!/usr/bin/python3
"""PyTorch CPU reference for `deno task bench`: one BERT-QA training step, timed.

Builds BertForQuestionAnswering from plain torch modules (nn.Linear, nn.LayerNorm, softmax
attention with an additive mask, exact-erf GELU, dropout 0.1) with the same sizes as
src/models/bert.ts, and times the full step the framework's trainer takes: forward, loss
(mean of start/end cross-entropies), backward, clip_grad_norm_(1.0), AdamW (no decay on biases
and LayerNorm weights), zero_grad. Warm-up, then the median of N steps.

Usage: /usr/bin/python3 tools/torch_step_bench.py '<json list of runs>'
  each run: {"name", "hidden", "layers", "heads", "inter", "vocab", "batch", "seq", "warmup", "n"}
Prints one JSON line: {"torch": version, "threads": n, "runs": {name: {...}}}.
"""
import json
import math
import os
import statistics
import sys
import time

import torch
from torch import nn


class Layer(nn.Module):
    def __init__(self, h, a, i, p):
        super().__init__()
        self.a, self.d = a, h // a
        self.q, self.k, self.v = nn.Linear(h, h), nn.Linear(h, h), nn.Linear(h, h)
        self.o, self.ln1 = nn.Linear(h, h), nn.LayerNorm(h, eps=1e-12)
        self.up, self.down = nn.Linear(h, i), nn.Linear(i, h)
        self.ln2, self.drop, self.gelu = nn.LayerNorm(h, eps=1e-12), nn.Dropout(p), nn.GELU()

    def forward(self, x, mask):
        b, s, h = x.shape
        heads = lambda t: t.view(b, s, self.a, self.d).transpose(1, 2)
        q, k, v = heads(self.q(x)), heads(self.k(x)), heads(self.v(x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.d) + mask[:, None, None, :]
        ctx = (self.drop(torch.softmax(scores, -1)) @ v).transpose(1, 2).reshape(b, s, h)
        x = self.ln1(self.drop(self.o(ctx)) + x)
        return self.ln2(self.drop(self.down(self.gelu(self.up(x)))) + x)


class BertQA(nn.Module):
    def __init__(self, r, p=0.1):
        super().__init__()
        h = r["hidden"]
        self.word = nn.Embedding(r["vocab"], h)
        self.pos = nn.Embedding(512, h)
        self.types = nn.Embedding(2, h)
        self.ln, self.drop = nn.LayerNorm(h, eps=1e-12), nn.Dropout(p)
        self.layers = nn.ModuleList(Layer(h, r["heads"], r["inter"], p) for _ in range(r["layers"]))
        self.qa = nn.Linear(h, 2)
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, std=0.02)

    def forward(self, ids, types, mask, start, end):
        s = ids.shape[1]
        pos = torch.arange(s)[None, :]
        x = self.drop(self.ln(self.word(ids) + self.types(types) + self.pos(pos)))
        add_mask = (1.0 - mask) * torch.finfo(torch.float32).min
        for layer in self.layers:
            x = layer(x, add_mask)
        start_logits, end_logits = self.qa(x).unbind(-1)
        ce = nn.functional.cross_entropy
        return (ce(start_logits, start, ignore_index=s) + ce(end_logits, end, ignore_index=s)) / 2


def run(r):
    torch.manual_seed(0)
    model = BertQA(r).train()
    named = list(model.named_parameters())
    no_decay = lambda n: n.endswith(".bias") or n.startswith("ln") or ".ln" in n
    opt = torch.optim.AdamW(
        [
            {"params": [p for n, p in named if not no_decay(n)], "weight_decay": 0.01},
            {"params": [p for n, p in named if no_decay(n)], "weight_decay": 0.0},
        ],
        lr=3e-5,
    )
    b, s = r["batch"], r["seq"]
    ids = torch.randint(0, r["vocab"], (b, s))
    types = (torch.arange(s) >= s / 3).long().expand(b, s)
    mask = torch.ones(b, s)
    start = torch.randint(0, s, (b,))
    end = torch.clamp(start + 3, max=s - 1)

    def step():
        loss = model(ids, types, mask, start, end)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)

    for _ in range(r["warmup"]):
        step()
    times = []
    for _ in range(r["n"]):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1000)
    ms = statistics.median(times)
    return {
        "step_ms": ms,
        "samples_ms": times,
        "tokens_per_s": b * s / (ms / 1000),
        "params": sum(p.numel() for p in model.parameters()),
    }


def main():
    torch.set_num_threads(os.cpu_count())
    runs = json.loads(sys.argv[1])
    out = {r["name"]: run(r) for r in runs}
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "runs": out}))


if __name__ == "__main__":
    main()
