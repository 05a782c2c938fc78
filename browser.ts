/**
 * The part of `webgpu-bert` that runs in a web page: device, tensors, autograd, ops, layers,
 * models (loaded through a {@linkcode Files} such as {@linkcode memoryFiles}), the optimizer
 * and {@linkcode Trainer.step}, QA features, postprocessing and metrics, classification and
 * fill-mask inference. Nothing it loads statically calls a Deno API or imports an npm:, node:
 * or native module (tests/browser_test.ts walks its graph); what only a host with a file
 * system does (run directories, checkpoints, the terminal progress bar, the native tokenizer)
 * is loaded on first use, from mod.ts's functions that need it. The WGSL shaders are fetched
 * relative to the module, as under Deno: serve `shaders/` two levels above the bundle's
 * directory's parent, as `deno task serve` does.
 *
 * @example
 * ```ts
 * import { initGpu, Tensor } from "webgpu-bert/browser";
 * await initGpu();
 * console.log(await Tensor.fromArray([1, 2]).toArray());
 * ```
 * @module
 */

export * from "./src/util/errors.ts";
export * from "./src/util/rng.ts";
export * from "./src/util/env.ts";

export * from "./src/gpu/device.ts";
export * from "./src/gpu/errors.ts";
export type { PoolStats } from "./src/gpu/pool.ts";
export { BufferPool, sizeClass } from "./src/gpu/pool.ts";
export { counters, sync } from "./src/gpu/kernel.ts";
export type { Binding } from "./src/gpu/kernel.ts";
export * from "./src/tensor.ts";
export * from "./src/autograd.ts";

export * from "./src/ops/elementwise.ts";
export * from "./src/ops/reduce.ts";
export * from "./src/ops/matmul.ts";
export * from "./src/ops/layernorm.ts";
export * from "./src/ops/softmax.ts";
export * from "./src/ops/activations.ts";
export * from "./src/ops/dropout.ts";
export * from "./src/ops/random.ts";
export * from "./src/ops/permute.ts";
export * from "./src/ops/slice.ts";
export * from "./src/ops/embedding.ts";
export * from "./src/ops/cross_entropy.ts";
export * from "./src/ops/argmax.ts";
export * from "./src/ops/topk.ts";
export * from "./src/ops/attention.ts";
export * from "./src/ops/fused.ts";
export * from "./src/ops/lstm.ts";

export * from "./src/nn/module.ts";
export * from "./src/nn/layers.ts";
export * from "./src/optim/adamw.ts";
export * from "./src/optim/clip.ts";
export * from "./src/optim/schedule.ts";
export * from "./src/optim/loss_scale.ts";
export * from "./src/train/save_policy.ts";
export * from "./src/train/sampler.ts";
export * from "./src/train/trainer.ts";

export * from "./src/io/files.ts";
export * from "./src/io/safetensors.ts";
export { decodeUtf8, parseJson } from "./src/io/text_file.ts";
export * from "./src/models/config.ts";
export * from "./src/models/bert.ts";
export * from "./src/models/bert_qa.ts";
export * from "./src/models/bert_classify.ts";
export * from "./src/models/with_head.ts";
export * from "./src/models/heads/qa.ts";
export * from "./src/models/heads/qa_lstm.ts";
export * from "./src/models/heads/classification.ts";
export * from "./src/models/heads/mlm.ts";
export * from "./src/models/masked_lm.ts";
export * from "./src/models/roberta.ts";
export * from "./src/models/registry.ts";
export * from "./src/models/checkpoint.ts";

export * from "./src/qa/dataset.ts";
export * from "./src/qa/metrics.ts";
export * from "./src/qa/features.ts";
export * from "./src/qa/postprocess.ts";
export * from "./src/qa/evaluate.ts";
export * from "./src/qa/task.ts";
export * from "./src/qa/synthetic.ts";
export * from "./src/qa/embedded.ts";

export * from "./src/classify/dataset.ts";
export * from "./src/classify/metrics.ts";
export * from "./src/classify/task.ts";
export * from "./src/mlm/fill_mask.ts";

export * from "./src/text/windows.ts";
export * from "./src/text/wordpiece.ts";
export * from "./src/text/wordpiece_normalizer.ts";
export * from "./src/text/sentencepiece.ts";
export * from "./src/text/tokenizer_source.ts";
export * from "./src/text/vocab_builder.ts";
