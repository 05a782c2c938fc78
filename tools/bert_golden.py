#!/usr/bin/python3
"""Golden fixtures for BERT parity, from the equations of HF BertForQuestionAnswering and
BertForSequenceClassification in PyTorch (the masked-LM and RoBERTa families, built on these
equations, are in tools/mlm_golden.py).

Regenerate (Debian: apt-get install -y python3-torch libopenblas0-pthread):
    /usr/bin/python3 tools/bert_golden.py [qa] [classify] [mlm] [roberta_qa] [roberta_classify]
        [roberta_mlm]     (no argument: qa and classify)
Writes tests/fixtures/bert_qa_<name>/ and tests/fixtures/bert_classify_<name>/, each with
{config.json, model.safetensors, golden.safetensors}: the random weights in HF layout, and the
inputs, logits, loss and the gradient of every parameter, computed in float64 from
float32-rounded weights (dropout off).

Other torch versions round the analytically-zero gradients (noise at 1e-17) differently, so
regenerating a fixture can change its golden file without changing what it tests: pass only
the family you changed.
"""
import json
import math
import os
import struct
import sys

import torch

F32_MIN = -3.4028234663852886e38
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures")


def write_safetensors(path, tensors):
    """Minimal writer: JSON header (names sorted), padded with spaces to 8 bytes, raw LE data."""
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].contiguous()
        dtype = {torch.float32: "F32", torch.int32: "I32", torch.int64: "I64"}[t.dtype]
        data = t.numpy().tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def param_makers(cfg, gen, p):
    """normal(*shape), ln(name), linear(name, out, in): random float32 tensors into p, drawn
    from gen in call order (so a head added after the backbone leaves the backbone unchanged)."""
    h = cfg["hidden_size"]

    def normal(*shape):
        return (torch.randn(*shape, generator=gen) * 0.2).float()

    def ln(name):
        p[name + ".weight"] = (1 + 0.1 * torch.randn(h, generator=gen)).float()
        p[name + ".bias"] = (0.1 * torch.randn(h, generator=gen)).float()

    def linear(name, out_dim, in_dim):
        p[name + ".weight"] = normal(out_dim, in_dim)
        p[name + ".bias"] = normal(out_dim)

    return normal, ln, linear


def make_params(cfg, gen, head="qa"):
    """The encoder's parameters under `<model_type>.` (bert., roberta.), then the head's:
    "qa", "classify", or a function head(cfg, p, normal, ln, linear) (see param_makers)."""
    h, i, v = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    p = {}
    normal, ln, linear = param_makers(cfg, gen, p)
    base = model_type(cfg) + "."
    p[base + "embeddings.word_embeddings.weight"] = normal(v, h)
    p[base + "embeddings.position_embeddings.weight"] = normal(cfg["max_position_embeddings"], h)
    p[base + "embeddings.token_type_embeddings.weight"] = normal(cfg["type_vocab_size"], h)
    ln(base + "embeddings.LayerNorm")
    for l in range(cfg["num_hidden_layers"]):
        pre = f"{base}encoder.layer.{l}."
        for n in ("query", "key", "value"):
            linear(pre + "attention.self." + n, h, h)
        linear(pre + "attention.output.dense", h, h)
        ln(pre + "attention.output.LayerNorm")
        linear(pre + "intermediate.dense", i, h)
        linear(pre + "output.dense", h, i)
        ln(pre + "output.LayerNorm")
    if head == "qa":
        linear("qa_outputs", 2, h)
    elif head == "classify":
        linear("bert.pooler.dense", h, h)
        linear("classifier", len(cfg["id2label"]), h)
    else:
        head(cfg, p, normal, ln, linear)
    return p


def model_type(cfg):
    """"bert" or "roberta": also the prefix of the encoder's parameter names."""
    return cfg.get("model_type", "bert")


def position_ids(cfg, ids):
    """BERT: 0..S-1. RoBERTa, as HF's create_position_ids_from_input_ids: real tokens count
    from pad_token_id + 1, padding sits at pad_token_id."""
    b, s = ids.shape
    if model_type(cfg) == "bert":
        return torch.arange(s).unsqueeze(0).expand(b, s)
    pad = cfg["pad_token_id"]
    real = (ids != pad).long()
    return torch.cumsum(real, dim=1) * real + pad


def encode(cfg, p, ids, types, mask, padding_idx=True):
    """HF BertModel's last hidden state with dropout off, in the dtype of the parameters.

    padding_idx=False gathers the word embeddings by plain indexing (the [PAD] row then gets a
    gradient, unlike HF): tools/parity_trainer.py --no-padding-idx uses it."""
    b, s = ids.shape
    h, a = cfg["hidden_size"], cfg["num_attention_heads"]
    d = h // a
    eps = cfg["layer_norm_eps"]

    def ln(x, name):
        return torch.nn.functional.layer_norm(x, (h,), p[name + ".weight"], p[name + ".bias"], eps)

    base = model_type(cfg) + "."
    pos = position_ids(cfg, ids)
    # nn.Embedding(padding_idx=pad_token_id): the [PAD] row gets no gradient, nor (RoBERTa)
    # the position row pad_token_id that padding uses.
    pad = cfg["pad_token_id"] if padding_idx else None
    word = torch.nn.functional.embedding(ids, p[base + "embeddings.word_embeddings.weight"],
                                         padding_idx=pad)
    position = p[base + "embeddings.position_embeddings.weight"]
    position = (position[pos] if model_type(cfg) == "bert"
                else torch.nn.functional.embedding(pos, position, padding_idx=pad))
    x = word + p[base + "embeddings.token_type_embeddings.weight"][types] + position
    x = ln(x, base + "embeddings.LayerNorm")
    ext = (1.0 - mask.to(x.dtype))[:, None, None, :] * F32_MIN
    for l in range(cfg["num_hidden_layers"]):
        pre = f"{base}encoder.layer.{l}."

        def heads(t):
            return t.view(b, s, a, d).permute(0, 2, 1, 3)

        q = heads(lin(x, p, pre + "attention.self.query"))
        k = heads(lin(x, p, pre + "attention.self.key"))
        v = heads(lin(x, p, pre + "attention.self.value"))
        scores = q @ k.transpose(-1, -2) / math.sqrt(d) + ext
        ctx = (scores.softmax(-1) @ v).permute(0, 2, 1, 3).reshape(b, s, h)
        x = ln(lin(ctx, p, pre + "attention.output.dense") + x, pre + "attention.output.LayerNorm")
        inter = torch.nn.functional.gelu(lin(x, p, pre + "intermediate.dense"))
        x = ln(lin(inter, p, pre + "output.dense") + x, pre + "output.LayerNorm")
    return x


# Linear name → a term added to its output (tools/lora_golden.py's LoRA updates); empty here.
LINEAR_EXTRA = {}


def lin(x, p, name):
    y = x @ p[name + ".weight"].T + p[name + ".bias"]
    extra = LINEAR_EXTRA.get(name)
    return y if extra is None else y + extra(x)


def forward(cfg, p, ids, types, mask, start, end, padding_idx=True):
    """HF BertForQuestionAnswering.forward with dropout off (see encode)."""
    return span_outputs(lin(encode(cfg, p, ids, types, mask, padding_idx), p, "qa_outputs"),
                        start, end)


def span_outputs(logits, start, end):
    """Start and end logits of the span projection [B, S, 2], and HF's QA loss: the mean of the
    two cross-entropies, positions clamped to [0, S] and S ignored."""
    s = logits.shape[1]
    start_logits, end_logits = logits[..., 0], logits[..., 1]
    ignored = s
    ce = torch.nn.CrossEntropyLoss(ignore_index=ignored)
    loss = (ce(start_logits, start.clamp(0, ignored)) + ce(end_logits, end.clamp(0, ignored))) / 2
    return start_logits, end_logits, loss


def classify(cfg, p, ids, types, mask, labels):
    """HF BertForSequenceClassification.forward with dropout off: pooler (tanh of dense on
    [CLS]), classifier, single-label cross-entropy (ignore_index -100)."""
    x = encode(cfg, p, ids, types, mask)
    pooled = torch.tanh(lin(x[:, 0], p, "bert.pooler.dense"))
    logits = lin(pooled, p, "classifier")
    loss = torch.nn.CrossEntropyLoss()(logits.view(-1, len(cfg["id2label"])), labels.view(-1))
    return logits, loss


def random_batch(cfg, batch, seq, lengths, gen):
    """Row r has lengths[r] real tokens (ids above pad_token_id, so RoBERTa's positions skip
    none of them), then pad_token_id; the second half of a row is segment 1 where there is one."""
    pad = cfg["pad_token_id"]
    ids = torch.randint(pad + 1, cfg["vocab_size"], (batch, seq), generator=gen)
    types = torch.zeros(batch, seq, dtype=torch.long)
    mask = torch.zeros(batch, seq, dtype=torch.long)
    for r, n in enumerate(lengths):
        mask[r, :n] = 1
        if cfg["type_vocab_size"] > 1:
            types[r, n // 2:n] = 1
        ids[r, n:] = pad
    return ids, types, mask


def write_case(out, cfg, architecture, p32, p, golden):
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump({**cfg, "architectures": [architecture], "model_type": model_type(cfg)}, f,
                  indent=2)
        f.write("\n")
    write_safetensors(os.path.join(out, "model.safetensors"), p32)
    for k, v in p.items():
        golden["grad." + k] = v.grad.float()
    write_safetensors(os.path.join(out, "golden.safetensors"), golden)


def golden_case(dirname, architecture, cfg, head, seed, batch, seq, lengths, run):
    """Seeded weights (make_params with `head`) and batch (random_batch), then
    run(p, ids, types, mask, gen) → (golden tensors, loss) in float64; backward, write
    tests/fixtures/<dirname>/. Returns the float64 parameters (gradients filled) and the golden
    tensors."""
    gen = torch.Generator().manual_seed(seed)
    p32 = make_params(cfg, gen, head)
    p = {k: v.double().requires_grad_(True) for k, v in p32.items()}
    ids, types, mask = random_batch(cfg, batch, seq, lengths, gen)
    out, loss = run(p, ids, types, mask, gen)
    loss.backward()
    golden = {"input_ids": ids.int(), "token_type_ids": types.int(), "attention_mask": mask.int(),
              **{k: v.detach().int() if v.dtype == torch.long else v.detach().float()
                 for k, v in out.items()},
              "loss": loss.detach().float().reshape(1)}
    write_case(os.path.join(ROOT, dirname), cfg, architecture, p32, p, golden)
    print(dirname, "loss", loss.item())
    return p, golden


def qa_run(cfg, starts, ends):
    """golden_case's run for a QA head (BERT's and RoBERTa's are the same)."""
    def run(p, ids, types, mask, gen):
        start, end = torch.tensor(starts), torch.tensor(ends)
        sl, el, loss = forward(cfg, p, ids, types, mask, start, end)
        return {"start_positions": start, "end_positions": end,
                "start_logits": sl, "end_logits": el}, loss
    return run


def make_case(name, cfg, batch, seq, lengths, starts, ends, seed):
    golden_case(f"bert_qa_{name}", "BertForQuestionAnswering", cfg, "qa", seed, batch, seq,
                lengths, qa_run(cfg, starts, ends))


def make_classify_case(name, cfg, batch, seq, lengths, labels, seed):
    def run(p, ids, types, mask, gen):
        y = torch.tensor(labels)
        logits, loss = classify(cfg, p, ids, types, mask, y)
        return {"labels": y, "logits": logits}, loss

    golden_case(f"bert_classify_{name}", "BertForSequenceClassification", cfg, "classify", seed,
                batch, seq, lengths, run)


BASE = dict(vocab_size=50, hidden_size=24, num_hidden_layers=2, num_attention_heads=3,
            intermediate_size=37, hidden_act="gelu", max_position_embeddings=40, type_vocab_size=2,
            layer_norm_eps=1e-12, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
            pad_token_id=0, initializer_range=0.02)


def main(families):
    if "qa" in families:
        # Sequence 13 (no tile multiple) with 4 padding positions masked out; batch of 1.
        make_case("odd", BASE, 1, 13, [9], [3], [5], seed=1)
        # Batch 3 with padding, one answer position past the sequence (clamped, then ignored).
        make_case("batch", {**BASE, "num_hidden_layers": 1, "layer_norm_eps": 1e-5}, 3, 11,
                  [11, 7, 5], [2, 40, 0], [4, 1, 3], seed=2)
    if "classify" in families:
        # 3 classes with names, odd sequence 13 and hidden 21 (7 heads of 3), batch 5 with
        # padding; one sequence labelled -100 is left out of the loss, as in HF.
        labels = {"id2label": {"0": "negative", "1": "neutral", "2": "positive"},
                  "label2id": {"negative": 0, "neutral": 1, "positive": 2}}
        make_classify_case("odd", {**BASE, "hidden_size": 21, "num_attention_heads": 7,
                                   **labels},
                           5, 13, [13, 9, 4, 11, 1], [2, 0, 1, -100, 2], seed=3)
    others = families - {"qa", "classify"}
    if others:
        # The masked-LM and RoBERTa families share this file's equations: one module instance.
        sys.modules.setdefault("bert_golden", sys.modules[__name__])
        import mlm_golden
        mlm_golden.main(others)


if __name__ == "__main__":
    main(set(sys.argv[1:]) or {"qa", "classify"})
