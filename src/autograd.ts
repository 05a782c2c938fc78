// Reverse-mode autograd on a tape, in the spirit of micrograd: each op records a
// closure that maps its output's gradient to gradients of its inputs.
//
// Ownership rule for op authors: `accumulateGrad(x, g)` takes ownership of `g`.
// To pass an incoming gradient through unchanged, pass `g.view(x.shape)`.

import { setScopeCloseHook, setViewHook, Tensor } from "./tensor.ts";
import { addInto, fill } from "./primitives.ts";

interface Node {
  output: Tensor;
  backward: (g: Tensor) => void;
}

let tape: Node[] = [];
let enabled = true;

setScopeCloseHook(() => {
  tape = tape.filter((n) => !n.output.disposed);
});

setViewHook((src, view) => {
  record(view, [src], (g) => accumulateGrad(src, g.view(src.shape)));
});

/** False inside {@linkcode noGrad}: nothing is being recorded. */
export function gradEnabled(): boolean {
  return enabled;
}

/** True when an op on these inputs must record a backward closure. */
export function needsGrad(...inputs: Tensor[]): boolean {
  return enabled && inputs.some((t) => t.requiresGrad);
}

/**
 * Records `backward` for `output`, if any input requires a gradient.
 * Returns `output` for chaining.
 */
export function record(output: Tensor, inputs: Tensor[], backward: (g: Tensor) => void): Tensor {
  if (!needsGrad(...inputs)) return output;
  output.requiresGrad = true;
  output.isLeaf = false;
  tape.push({ output, backward });
  return output;
}

/** Adds `g` into `x.grad`, taking ownership of `g`. Ignores tensors that need no gradient. */
export function accumulateGrad(x: Tensor, g: Tensor): void {
  if (!x.requiresGrad) {
    g.dispose();
    return;
  }
  if (g.size !== x.size) {
    throw new Error(`gradient [${g.shape}] does not match tensor [${x.shape}] ${x.name}`);
  }
  const shaped = g.shape.join() === x.shape.join() ? g : g.view(x.shape);
  if (shaped !== g) g.dispose();
  if (!x.grad) {
    x.grad = shaped;
    return;
  }
  // x.grad may share storage with another gradient (a pass-through view): add into a
  // fresh buffer rather than in place.
  x.grad = addInto(x.grad, shaped);
  shaped.dispose();
}

/**
 * Back-propagates from a scalar `loss` through every op recorded since the last call.
 * Leaf tensors that require grad end with `.grad` set (accumulated across calls).
 *
 * @example
 * ```ts
 * import { backward, initGpu, mul, sum, Tensor } from "webgpu-bert";
 * await initGpu();
 * const x = Tensor.fromArray([1, 2, 3]);
 * x.requiresGrad = true;
 * backward(sum(mul(x, x)));
 * console.log(await x.grad!.toArray()); // [2, 4, 6]
 * ```
 */
export function backward(loss: Tensor): void {
  if (loss.size !== 1) throw new Error(`backward() needs a scalar loss, got [${loss.shape}]`);
  if (!loss.requiresGrad) throw new Error("loss does not depend on any tensor that requires grad");
  const nodes = tape;
  tape = [];
  loss.grad = fill(loss.shape, 1);
  for (let i = nodes.length - 1; i >= 0; i--) {
    const { output, backward } = nodes[i];
    const g = output.grad;
    if (!g || output.disposed) continue;
    backward(g);
    output.grad = null;
  }
}

/**
 * Runs `fn` without recording gradients (evaluation, optimizer updates).
 *
 * @example
 * ```ts
 * import { initGpu, mul, noGrad, Tensor } from "webgpu-bert";
 * await initGpu();
 * const x = Tensor.fromArray([1, 2]);
 * x.requiresGrad = true;
 * const y = noGrad(() => mul(x, x));
 * console.log(y.requiresGrad); // false
 * ```
 */
export function noGrad<T>(fn: () => T): T {
  const was = enabled;
  enabled = false;
  try {
    return fn();
  } finally {
    enabled = was;
  }
}

/** Async {@linkcode noGrad}. */
export async function noGradAsync<T>(fn: () => Promise<T>): Promise<T> {
  const was = enabled;
  enabled = false;
  try {
    return await fn();
  } finally {
    enabled = was;
  }
}

/** Marks a tensor as a trainable parameter (or frozen, with `trainable = false`). */
export function parameter(t: Tensor, name = t.name, trainable = true): Tensor {
  t.name = name;
  t.requiresGrad = trainable;
  return t;
}

/** Clears the tape without back-propagating (e.g. after an aborted step). */
export function clearTape(): void {
  tape = [];
}
