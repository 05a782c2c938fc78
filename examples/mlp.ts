// A 2-layer MLP learns three interleaved spirals, trained with the public API only.
// Run: deno run -A examples/mlp.ts [--steps 300]

import { parseArgs } from "node:util";
import {
  crossEntropy,
  initGpu,
  Linear,
  lossOnlyTask,
  Module,
  noGrad,
  relu,
  scopeAsync,
  Tensor,
  Trainer,
} from "../mod.ts";

const { values } = parseArgs({
  options: { steps: { type: "string", default: "300" }, seed: { type: "string", default: "0" } },
});
const steps = Number(values.steps);
const seed = Number(values.seed);

// Three spiral arms of 200 points each, with a little seeded noise.
function spirals(n: number, s: number): { x: Float32Array; y: Int32Array } {
  let state = s + 1;
  const noise = () => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5) * 0.2;
  const x = new Float32Array(n * 3 * 2);
  const y = new Int32Array(n * 3);
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < n; i++) {
      const r = i / n;
      const t = c * 4 + 4 * r + noise();
      x[(c * n + i) * 2] = r * Math.sin(t);
      x[(c * n + i) * 2 + 1] = r * Math.cos(t);
      y[c * n + i] = c;
    }
  }
  return { x, y };
}

const gpu = await initGpu();
console.log(`adapter: ${gpu.info.name} (${gpu.info.backend})`);
const data = spirals(200, seed);
/** Two Linear layers with a ReLU between them. */
class Mlp extends Module {
  fc1 = this.child("fc1", new Linear(2, 64, { seed }));
  fc2 = this.child("fc2", new Linear(64, 3, { seed: seed + 10 }));
  forward(x: Tensor): Tensor {
    return this.fc2.forward(relu(this.fc1.forward(x)));
  }
}
const mlp = new Mlp();
const x = Tensor.fromArray(data.x, [600, 2]);
const y = Tensor.fromArray(data.y, [600]);

// The framework's one Trainer (AdamW, clipping at 1.0), a constant LR, one full batch a step.
const trainer = new Trainer(
  lossOnlyTask({
    model: mlp,
    size: 600,
    loss: () => crossEntropy(mlp.forward(x), y),
  }),
  {
    out: "",
    epochs: steps,
    batchSize: 600,
    gradAccum: 1,
    evalEvery: steps,
    seed,
    lr: 0.01,
    lrSchedule: "constant",
    warmupRatio: 0,
    weightDecay: 0,
    logEvery: 50,
    quiet: true,
  },
);

let first = NaN;
let last = NaN;
for (let step = 1; step <= steps; step++) {
  const loss = await trainer.step(step, () => null, step % 50 === 0 || step === 1);
  if (!Number.isNaN(loss)) {
    if (step === 1) first = loss;
    last = loss;
    console.log(`step ${step}: loss ${loss.toFixed(4)}`);
  }
}
trainer.dispose();
const acc = await scopeAsync(async () => {
  const logits = await noGrad(() => mlp.forward(x)).toArray();
  let ok = 0;
  for (let i = 0; i < 600; i++) {
    const row = logits.slice(i * 3, i * 3 + 3);
    if (row.indexOf(Math.max(...row)) === data.y[i]) ok++;
  }
  return ok / 600;
});
console.log(JSON.stringify({ first_loss: first, last_loss: last, train_accuracy: acc }));
