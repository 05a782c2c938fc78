#!/usr/bin/python3
"""Golden fixtures for the LSTM-LayerNorm QA head (src/models/heads/qa_lstm.ts) on a tiny BERT and
a tiny RoBERTa: the encoder of tools/bert_golden.py, then PyTorch's own nn.LSTM (bidirectional,
batch_first, packed by each row's attention-mask length), nn.LayerNorm (eps 1e-5), dropout off,
qa_outputs and HF's span loss; float64 from float32-rounded weights.

Regenerate (Debian: apt-get install -y python3-torch libopenblas0-pthread):
    /usr/bin/python3 tools/qa_lstm_golden.py
Writes tests/fixtures/bert_qa_lstm_odd/ and tests/fixtures/roberta_qa_lstm_odd/: config.json
(with qa_lstm_hidden_size and head_dropout), model.safetensors and golden.safetensors (inputs,
logits, loss, grad.<name> of every parameter).
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bert_golden import BASE, encode, golden_case, span_outputs  # noqa: E402
from mlm_golden import ROBERTA  # noqa: E402

LSTM_NAMES = [f"{w}_{k}_l0{sfx}" for sfx in ("", "_reverse") for w, k in
              (("weight", "ih"), ("weight", "hh"), ("bias", "ih"), ("bias", "hh"))]


def head_params(cfg, p, normal, ln, linear):
    """lstm.* (nn.LSTM's names), layer_norm.* over 2L, qa_outputs Linear(2L, 2)."""
    h, l = cfg["hidden_size"], cfg["qa_lstm_hidden_size"]
    for n in LSTM_NAMES:
        shape = (4 * l, h if "_ih_" in n else l) if n.startswith("weight") else (4 * l,)
        p["lstm." + n] = normal(*shape)
    p["layer_norm.weight"] = (1 + 0.1 * normal(2 * l)).float()
    p["layer_norm.bias"] = (0.1 * normal(2 * l)).float()
    linear("qa_outputs", 2, 2 * l)


def lstm_head(cfg, p, x, mask):
    h, l = cfg["hidden_size"], cfg["qa_lstm_hidden_size"]
    lstm = torch.nn.LSTM(h, l, bidirectional=True, batch_first=True).double()
    lengths = mask.sum(1)
    packed = torch.nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True,
                                                     enforce_sorted=False)
    # The module's own parameters become p's entries (RNNBase.__setattr__ refreshes its flat
    # weights), so the gradients land where golden_case reads them.
    for n in LSTM_NAMES:
        p["lstm." + n] = torch.nn.Parameter(p["lstm." + n].detach())
        setattr(lstm, n, p["lstm." + n])
    y, _ = lstm(packed)
    y, _ = torch.nn.utils.rnn.pad_packed_sequence(y, batch_first=True, total_length=x.shape[1])
    y = torch.nn.functional.layer_norm(y, (2 * l,), p["layer_norm.weight"], p["layer_norm.bias"],
                                       1e-5)
    return y @ p["qa_outputs.weight"].T + p["qa_outputs.bias"]


def run_for(cfg, starts, ends):
    def run(p, ids, types, mask, gen):
        start, end = torch.tensor(starts), torch.tensor(ends)
        logits = lstm_head(cfg, p, encode(cfg, p, ids, types, mask), mask)
        sl, el, loss = span_outputs(logits, start, end)
        return {"start_positions": start, "end_positions": end,
                "start_logits": sl, "end_logits": el}, loss
    return run


def main():
    head = {"qa_lstm_hidden_size": 5, "head_dropout": 0.7}
    # BERT: batch 3 with padding (one row empty of padding), an answer past the sequence.
    bert = {**BASE, "num_hidden_layers": 1, **head}
    golden_case("bert_qa_lstm_odd", "BertForQuestionAnsweringWithLSTMLNHead", bert, head_params,
                21, 3, 11, [11, 7, 5], run_for(bert, [2, 40, 0], [4, 1, 3]))
    roberta = {**ROBERTA, "num_hidden_layers": 1, **head, "qa_lstm_hidden_size": 7}
    golden_case("roberta_qa_lstm_odd", "RobertaForQuestionAnsweringWithLSTMLNHead", roberta,
                head_params, 22, 2, 7, [7, 5], run_for(roberta, [2, 6], [4, 1]))


if __name__ == "__main__":
    main()
