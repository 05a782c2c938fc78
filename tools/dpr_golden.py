#!/usr/bin/python3
"""Golden fixture for the DPR bi-encoder (src/retrieval/dpr.ts): two BERT encoders of
tools/bert_golden.py's equations (float64 from float32 weights, dropout off), each question's and
passage's vector the last hidden state at [CLS], and the in-batch negatives loss: cross-entropy
of the [Q x P] inner-product matrix against each question's passage column.

Regenerate: /usr/bin/python3 tools/dpr_golden.py
Writes tests/fixtures/dpr_odd/{q_encoder,p_encoder}/ (config.json, model.safetensors, vocab.txt)
and golden.safetensors: q_*/p_* inputs, targets, scores, loss, and grad.<name> of every parameter
of both sides (q_encoder.bert.*, p_encoder.bert.*).
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bert_golden import (  # noqa: E402  (the same encoder equations and writers)
    BASE, ROOT, encode, make_params, random_batch, write_safetensors)


def side(out, cfg, seed):
    gen = torch.Generator().manual_seed(seed)
    p32 = make_params(cfg, gen, head=lambda *a: None)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump({**cfg, "architectures": ["BertModel"], "model_type": "bert"}, f, indent=2)
        f.write("\n")
    write_safetensors(os.path.join(out, "model.safetensors"), p32)
    with open(os.path.join(out, "vocab.txt"), "w") as f:
        specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
        f.write("\n".join(specials + [f"t{i}" for i in range(len(specials), cfg["vocab_size"])]))
        f.write("\n")
    return {k: v.double().requires_grad_(True) for k, v in p32.items()}, gen


def main():
    out = os.path.join(ROOT, "dpr_odd")
    # Different depths per side: nothing ties the two encoders' shapes together but H.
    qcfg = {**BASE, "num_hidden_layers": 1}
    pcfg = {**BASE, "num_hidden_layers": 2}
    q, gen = side(os.path.join(out, "q_encoder"), qcfg, seed=11)
    p, _ = side(os.path.join(out, "p_encoder"), pcfg, seed=12)
    # 3 questions (sequence 7) and 4 distinct passages (sequence 11): questions 0 and 2 share
    # passage 0, passage 3 is a hard negative of no question; padding in both.
    qi, qt, qm = random_batch(qcfg, 3, 7, [7, 4, 5], gen)
    pi, pt, pm = random_batch(pcfg, 4, 11, [11, 6, 9, 3], gen)
    qt.zero_()
    pt.zero_()
    targets = torch.tensor([0, 1, 0])
    qv = encode(qcfg, q, qi, qt, qm)[:, 0]
    pv = encode(pcfg, p, pi, pt, pm)[:, 0]
    scores = qv @ pv.T
    loss = torch.nn.functional.cross_entropy(scores, targets)
    loss.backward()
    golden = {"q_input_ids": qi.int(), "q_attention_mask": qm.int(),
              "p_input_ids": pi.int(), "p_attention_mask": pm.int(),
              "targets": targets.int(), "scores": scores.detach().float(),
              "loss": loss.detach().float().reshape(1)}
    for prefix, params in (("q_encoder.", q), ("p_encoder.", p)):
        for k, v in params.items():
            golden["grad." + prefix + k] = v.grad.float()
    write_safetensors(os.path.join(out, "golden.safetensors"), golden)
    print("dpr_odd loss", loss.item())


if __name__ == "__main__":
    main()
