#!/usr/bin/python3
"""Golden fixture for the lstm op (src/ops/lstm.ts) from PyTorch's own nn.LSTM.

Regenerate (Debian: apt-get install -y python3-torch libopenblas0-pthread):
    /usr/bin/python3 tools/lstm_golden.py
Writes tests/fixtures/lstm/golden.safetensors: nn.LSTM(7, 5, bidirectional=True,
batch_first=True) with float32-rounded random weights (PyTorch's names), an input x [3, 5, 7],
sequence lengths, loss weights w; then, in float64, for "plain" (nn.LSTM over the padded
input, as is) and "packed" (pack_padded_sequence by the lengths, pad_packed_sequence back to
5 positions), the output y and the gradient of L = sum(y * w) for x and every parameter.
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bert_golden import ROOT, write_safetensors  # noqa: E402

B, S, I, H = 3, 5, 7, 5
LENGTHS = [5, 2, 4]


def main():
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(I, H, bidirectional=True, batch_first=True)
    names = [n for n, _ in lstm.named_parameters()]
    weights = {n: (torch.randn_like(p) * 0.5).float() for n, p in lstm.named_parameters()}
    x32 = torch.randn(B, S, I).float()
    w = torch.randn(B, S, 2 * H).float()
    golden = {"x": x32, "w": w, "lengths": torch.tensor(LENGTHS, dtype=torch.int32), **weights}
    lstm = lstm.double()
    for mode in ("plain", "packed"):
        with torch.no_grad():
            for n, p in lstm.named_parameters():
                p.copy_(weights[n].double())
        lstm.zero_grad()
        x = x32.double().requires_grad_(True)
        if mode == "plain":
            y, _ = lstm(x)
        else:
            packed = torch.nn.utils.rnn.pack_padded_sequence(x, torch.tensor(LENGTHS),
                                                             batch_first=True,
                                                             enforce_sorted=False)
            y, _ = lstm(packed)
            y, _ = torch.nn.utils.rnn.pad_packed_sequence(y, batch_first=True, total_length=S)
        (y * w.double()).sum().backward()
        golden[f"{mode}.y"] = y.detach().float()
        golden[f"{mode}.grad.x"] = x.grad.float()
        params = dict(lstm.named_parameters())
        for n in names:
            golden[f"{mode}.grad.{n}"] = params[n].grad.float()
    out = os.path.join(ROOT, "lstm")
    os.makedirs(out, exist_ok=True)
    write_safetensors(os.path.join(out, "golden.safetensors"), golden)
    print("wrote", out, "names:", ", ".join(names))


if __name__ == "__main__":
    main()
