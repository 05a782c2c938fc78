#!/usr/bin/python3
"""Golden fixtures for LoRA on BertForQuestionAnswering, from PEFT's equations in plain PyTorch
(no peft package): each targeted Linear computes W x + b + (lora_alpha / r) · B(A(dropout(x)))
(peft/tuners/lora/layer.py, Linear.forward), and qa_outputs, PEFT's modules_to_save for
QUESTION_ANS, is a trained copy of the head. Dropout is off (eval), as the other goldens.

Regenerate:  /usr/bin/python3 tools/lora_golden.py
Writes tests/fixtures/lora_qa_<name>/ with config.json + model.safetensors (the base, HF layout),
adapter/adapter_config.json + adapter/adapter_model.safetensors (PEFT's files: keys
base_model.model.<module>.lora_A.weight etc., the head as base_model.model.qa_outputs.weight),
and golden.safetensors: inputs, logits, loss and grad.<name> of every TRAINABLE parameter
(lora_A, lora_B, qa_outputs; the frozen base has none). B is random, not PEFT's zero init, so
that the update and every gradient through it are exercised.
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bert_golden  # noqa: E402  (the encoder equations, the batch and the writers)
from bert_golden import BASE, ROOT, forward, make_params, random_batch, write_safetensors  # noqa: E402


def linear_names(cfg):
    """Module paths of the encoder's Linear layers, in model order."""
    out = []
    for l in range(cfg["num_hidden_layers"]):
        pre = f"bert.encoder.layer.{l}."
        out += [pre + "attention.self." + n for n in ("query", "key", "value")]
        out += [pre + "attention.output.dense", pre + "intermediate.dense", pre + "output.dense"]
    return out


def matches(path, targets):
    """PEFT's check_target_module_exists for a list: the path is a target or ends with .target."""
    return any(path == t or path.endswith("." + t) for t in targets)


def make_case(name, cfg, targets, r, alpha, dropout, batch, seq, lengths, starts, ends, seed):
    gen = torch.Generator().manual_seed(seed)
    p32 = make_params(cfg, gen, "qa")
    h = cfg["hidden_size"]
    adapter32 = {}
    for path in linear_names(cfg):
        if not matches(path, targets):
            continue
        out_dim, in_dim = p32[path + ".weight"].shape
        adapter32[path + ".lora_A.weight"] = (torch.randn(r, in_dim, generator=gen) * 0.2).float()
        adapter32[path + ".lora_B.weight"] = (torch.randn(out_dim, r, generator=gen) * 0.2).float()
    # The trained head copy differs from the base's head, so loading it is visible.
    adapter32["qa_outputs.weight"] = (torch.randn(2, h, generator=gen) * 0.2).float()
    adapter32["qa_outputs.bias"] = (torch.randn(2, generator=gen) * 0.2).float()
    ids, types, mask = random_batch(cfg, batch, seq, lengths, gen)

    base = {k: v.double() for k, v in p32.items()}
    trained = {k: v.double().requires_grad_(True) for k, v in adapter32.items()}
    p = {**base, "qa_outputs.weight": trained["qa_outputs.weight"],
         "qa_outputs.bias": trained["qa_outputs.bias"]}
    scaling = alpha / r
    bert_golden.LINEAR_EXTRA.clear()
    for key in trained:
        if key.endswith(".lora_A.weight"):
            path = key[: -len(".lora_A.weight")]
            a, b = trained[key], trained[path + ".lora_B.weight"]
            bert_golden.LINEAR_EXTRA[path] = (lambda a, b: lambda x: (x @ a.T) @ b.T * scaling)(a, b)
    start, end = torch.tensor(starts), torch.tensor(ends)
    sl, el, loss = forward(cfg, p, ids, types, mask, start, end)
    loss.backward()
    bert_golden.LINEAR_EXTRA.clear()

    out = os.path.join(ROOT, f"lora_qa_{name}")
    os.makedirs(os.path.join(out, "adapter"), exist_ok=True)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump({**cfg, "architectures": ["BertForQuestionAnswering"], "model_type": "bert"}, f,
                  indent=2)
        f.write("\n")
    write_safetensors(os.path.join(out, "model.safetensors"), p32)
    peft_config = {
        "base_model_name_or_path": f"lora_qa_{name}", "bias": "none", "fan_in_fan_out": False,
        "inference_mode": True, "init_lora_weights": True, "layers_pattern": None,
        "layers_to_transform": None, "lora_alpha": alpha, "lora_dropout": dropout,
        "modules_to_save": ["qa_outputs"], "peft_type": "LORA", "r": r, "revision": None,
        "target_modules": targets, "task_type": "QUESTION_ANS",
    }
    with open(os.path.join(out, "adapter", "adapter_config.json"), "w") as f:
        json.dump(peft_config, f, indent=2)
        f.write("\n")
    write_safetensors(os.path.join(out, "adapter", "adapter_model.safetensors"),
                      {"base_model.model." + k: v for k, v in adapter32.items()})
    golden = {"input_ids": ids.int(), "token_type_ids": types.int(), "attention_mask": mask.int(),
              "start_positions": start.int(), "end_positions": end.int(),
              "start_logits": sl.detach().float(), "end_logits": el.detach().float(),
              "loss": loss.detach().float().reshape(1)}
    for k, v in trained.items():
        golden["grad." + k] = v.grad.float()
    write_safetensors(os.path.join(out, "golden.safetensors"), golden)
    print(f"lora_qa_{name}", "loss", loss.item(), "trainable tensors", len(trained))


def main():
    # PEFT's default targets for BERT, r 4 and alpha 8 (scaling 2); dropout 0.1 in the config,
    # off in eval. Batch 2 with padding, sequence 11.
    make_case("odd", BASE, ["query", "value"], 4, 8, 0.1, 2, 11, [11, 7], [2, 3], [4, 6], seed=5)
    # Every Linear of the encoder: "output.dense" also matches attention.output.dense under
    # PEFT's suffix rule. r 3, alpha 1 (scaling 1/3, not a power of two); one layer, sequence 13.
    make_case("all", {**BASE, "num_hidden_layers": 1},
              ["query", "key", "value", "intermediate.dense", "output.dense"], 3, 1, 0.0,
              1, 13, [9], [3], [5], seed=6)


if __name__ == "__main__":
    main()
