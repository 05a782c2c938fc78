#!/usr/bin/python3
"""Golden fixtures for HF BertForMaskedLM, RobertaForQuestionAnswering,
RobertaForSequenceClassification and RobertaForMaskedLM, from their equations in PyTorch on the
encoder of tools/bert_golden.py (float64 from float32-rounded weights, dropout off).

Regenerate one family (or several) without touching the others:
    /usr/bin/python3 tools/mlm_golden.py mlm roberta_qa roberta_classify roberta_mlm
(or the same names to tools/bert_golden.py). Writes tests/fixtures/<dir>/ with config.json,
model.safetensors in HF's saved layout (no pooler; the masked-LM decoder weight is the word
embedding and is not saved, nor the decoder.bias alias of the head's bias) and
golden.safetensors: inputs, logits, loss and grad.<name> of every saved parameter (the word
embedding's is the sum of its two uses, lookup and decoder).
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bert_golden import (  # noqa: E402  (the same encoder equations and writers)
    encode, golden_case, lin, model_type, position_ids, qa_run)

# Positions: 9 rows for sequence 7 (BERT leaves two rows without gradient; RoBERTa needs seq + 2,
# as roberta-base's 514 for 512 tokens).
SMALL = dict(vocab_size=37, hidden_size=24, num_hidden_layers=2, num_attention_heads=3,
             intermediate_size=40, hidden_act="gelu", max_position_embeddings=9,
             type_vocab_size=2, layer_norm_eps=1e-12, hidden_dropout_prob=0.0,
             attention_probs_dropout_prob=0.0, pad_token_id=0, initializer_range=0.02)
# HF RobertaConfig's differences: one token type, pad 1 (positions from 2), eps 1e-5.
ROBERTA = {**SMALL, "model_type": "roberta", "type_vocab_size": 1, "layer_norm_eps": 1e-5,
           "pad_token_id": 1, "bos_token_id": 0, "eos_token_id": 2}
LABELS = {"id2label": {"0": "negative", "1": "neutral", "2": "positive"},
          "label2id": {"negative": 0, "neutral": 1, "positive": 2}, "classifier_dropout": None}

# (transform dense, its LayerNorm, vocabulary bias) of each masked-LM head, HF's names.
LM_HEADS = {
    "bert": ("cls.predictions.transform.dense", "cls.predictions.transform.LayerNorm",
             "cls.predictions.bias"),
    "roberta": ("lm_head.dense", "lm_head.layer_norm", "lm_head.bias"),
}


def word_embeddings(cfg):
    return model_type(cfg) + ".embeddings.word_embeddings.weight"


def lm_head_params(cfg, p, normal, ln, linear):
    dense, norm, bias = LM_HEADS[model_type(cfg)]
    linear(dense, cfg["hidden_size"], cfg["hidden_size"])
    ln(norm)
    p[bias] = normal(cfg["vocab_size"])


def lm_logits(cfg, p, x, decoder):
    """BertLMPredictionHead / RobertaLMHead: dense, erf GELU (BERT: hidden_act, "gelu" here),
    LayerNorm, then the decoder x·decoderᵀ + bias (decoder: the tied word embedding)."""
    dense, norm, bias = LM_HEADS[model_type(cfg)]
    h = cfg["hidden_size"]
    t = torch.nn.functional.gelu(lin(x, p, dense))
    t = torch.nn.functional.layer_norm(t, (h,), p[norm + ".weight"], p[norm + ".bias"],
                                       cfg["layer_norm_eps"])
    return t @ decoder.T + p[bias]


def mlm_loss(cfg, logits, labels):
    return torch.nn.CrossEntropyLoss()(logits.view(-1, cfg["vocab_size"]), labels.view(-1))


def mlm_run(cfg, targets):
    """golden_case's run for a masked LM: labels -100 but at targets (row, position), whose
    token ids are drawn from the generator."""
    def run(p, ids, types, mask, gen):
        labels = torch.full(ids.shape, -100, dtype=torch.long)
        for r, j in targets:
            labels[r, j] = torch.randint(0, cfg["vocab_size"], (1,), generator=gen).item()
        x = encode(cfg, p, ids, types, mask)
        logits = lm_logits(cfg, p, x, p[word_embeddings(cfg)])
        return {"labels": labels, "logits": logits}, mlm_loss(cfg, logits, labels)
    return run


def check_tied(cfg, p, g):
    """Self-check: untie the decoder (a second leaf equal to the word embedding) and recompute;
    the tied gradient must be the sum of the lookup's and the decoder's, the lookup's [PAD] row
    zero and the decoder's not."""
    q = {k: v.detach().clone().requires_grad_(True) for k, v in p.items()}
    name = word_embeddings(cfg)
    dec = p[name].detach().clone().requires_grad_(True)
    ids, types, mask = (g[k].long() for k in ("input_ids", "token_type_ids", "attention_mask"))
    labels = g["labels"].long()
    mlm_loss(cfg, lm_logits(cfg, q, encode(cfg, q, ids, types, mask), dec), labels).backward()
    total = q[name].grad + dec.grad
    assert torch.allclose(total, p[name].grad, rtol=0, atol=1e-14), "tied gradient != sum"
    pad = cfg["pad_token_id"]
    assert q[name].grad[pad].abs().max() == 0 and dec.grad[pad].abs().max() > 0
    print("  tied gradient = lookup + decoder: ok")


def roberta_classify_params(cfg, p, normal, ln, linear):
    linear("classifier.dense", cfg["hidden_size"], cfg["hidden_size"])
    linear("classifier.out_proj", len(cfg["id2label"]), cfg["hidden_size"])


def roberta_classify_run(cfg, labels):
    """RobertaClassificationHead on the first token: dense, tanh, out_proj (dropout off); single-
    label cross-entropy."""
    def run(p, ids, types, mask, gen):
        y = torch.tensor(labels)
        x = encode(cfg, p, ids, types, mask)[:, 0]
        logits = lin(torch.tanh(lin(x, p, "classifier.dense")), p, "classifier.out_proj")
        loss = torch.nn.CrossEntropyLoss()(logits.view(-1, len(cfg["id2label"])), y.view(-1))
        return {"labels": y, "logits": logits}, loss
    return run


def check_roberta_positions(cfg, p):
    """HF's create_position_ids_from_input_ids on the example of src/models/positions.ts, and
    no gradient on the position row that padding uses, nor past the longest row."""
    got = position_ids(cfg, torch.tensor([[0, 5, 2, 1, 1]])).tolist()
    assert got == [[2, 3, 4, 1, 1]], got
    grad = p["roberta.embeddings.position_embeddings.weight"].grad
    assert grad[cfg["pad_token_id"]].abs().max() == 0 and grad[2].abs().max() > 0


def main(families):
    unknown = families - {"mlm", "roberta_qa", "roberta_classify", "roberta_mlm"}
    if unknown:
        sys.exit(f"unknown families {sorted(unknown)}")
    if "mlm" in families:
        # Batch 2, sequence 7, 3 padding positions in row 1; 3 targets, at least one a row.
        p, g = golden_case("bert_mlm_odd", "BertForMaskedLM", SMALL, lm_head_params, 11, 2, 7,
                           [7, 4], mlm_run(SMALL, [(0, 1), (0, 5), (1, 2)]))
        check_tied(SMALL, p, g)
    if "roberta_qa" in families:
        # Row 1's start lies past the sequence: clamped to 7 and ignored, as in HF.
        p, g = golden_case("roberta_qa_odd", "RobertaForQuestionAnswering", ROBERTA, "qa", 12, 2,
                           7, [7, 5], qa_run(ROBERTA, [2, 9], [4, 1]))
        check_roberta_positions(ROBERTA, p)
    if "roberta_classify" in families:
        cfg = {**ROBERTA, **LABELS}
        p, g = golden_case("roberta_classify_odd", "RobertaForSequenceClassification", cfg,
                           roberta_classify_params, 13, 3, 7, [7, 3, 6],
                           roberta_classify_run(cfg, [2, 0, 1]))
        check_roberta_positions(cfg, p)
    if "roberta_mlm" in families:
        p, g = golden_case("roberta_mlm_odd", "RobertaForMaskedLM", ROBERTA, lm_head_params, 14, 2,
                           7, [5, 7], mlm_run(ROBERTA, [(0, 0), (0, 3), (1, 6), (1, 2)]))
        check_tied(ROBERTA, p, g)
        check_roberta_positions(ROBERTA, p)


if __name__ == "__main__":
    main(set(sys.argv[1:]) or {"mlm", "roberta_qa", "roberta_classify", "roberta_mlm"})
