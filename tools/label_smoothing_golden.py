#!/usr/bin/python3
"""Golden values for crossEntropy's label smoothing (tests/ops/cross_entropy_test.ts).

Prints, for a QA-shaped case (start logits [3, 7], positions clamped to S = 7 and ignored, as HF's
*ForQuestionAnswering does) and a classification case (ignore -100), the loss and its gradient
from torch's F.cross_entropy(label_smoothing=eps), and checks that HF's LabelSmoother equations
(trainer_pt_utils.py, written out below in plain torch: transformers is not installed here) give
the same loss. Float64 throughout.
    /usr/bin/python3 tools/label_smoothing_golden.py
"""
import json

import torch
import torch.nn.functional as F


def label_smoother(logits, labels, eps, ignore_index):
    """HF's LabelSmoother.__call__ for class-index labels (shift_labels off)."""
    log_probs = -F.log_softmax(logits, dim=-1)
    labels = labels.unsqueeze(-1)
    padding_mask = labels.eq(ignore_index)
    # HF clamps only from below; a clamp from above keeps gather in range for QA's ignore = C.
    labels = torch.clamp(labels, min=0, max=logits.shape[-1] - 1)
    nll_loss = log_probs.gather(dim=-1, index=labels)
    smoothed_loss = log_probs.sum(dim=-1, keepdim=True)
    nll_loss = nll_loss.masked_fill(padding_mask, 0.0)
    smoothed_loss = smoothed_loss.masked_fill(padding_mask, 0.0)
    num_active = padding_mask.numel() - padding_mask.long().sum()
    nll_loss = nll_loss.sum() / num_active
    smoothed_loss = smoothed_loss.sum() / (num_active * log_probs.shape[-1])
    return (1 - eps) * nll_loss + eps * smoothed_loss


CASES = {
    "qa_start": dict(
        logits=[[0.5, -1.25, 2.0, 0.0, 0.75, -0.5, 1.5],
                [1.0, 0.25, -2.0, 0.5, 0.0, 3.0, -1.0],
                [-0.75, 0.5, 0.25, 1.25, -1.5, 0.0, 2.5]],
        labels=[2, 7, 5], ignore=7, eps=0.02),
    "classify": dict(
        logits=[[0.3, -0.7], [1.5, 0.25], [-2.0, 0.5], [0.0, 0.0], [0.75, -1.25]],
        labels=[1, 0, -100, 1, 0], ignore=-100, eps=0.1),
}

out = {}
for name, c in CASES.items():
    x = torch.tensor(c["logits"], dtype=torch.float64, requires_grad=True)
    y = torch.tensor(c["labels"])
    loss = F.cross_entropy(x, y, ignore_index=c["ignore"], label_smoothing=c["eps"])
    hf = label_smoother(x, y, c["eps"], c["ignore"])
    assert abs(loss.item() - hf.item()) < 1e-15, (name, loss.item(), hf.item())
    loss.backward()
    out[name] = {"loss": loss.item(), "grad": x.grad.flatten().tolist()}
print(json.dumps(out, indent=1))
