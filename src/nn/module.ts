// Modules own named parameters and child modules; names compose with "." exactly as
// PyTorch's state_dict keys, so HF checkpoints map onto them without renaming.

import type { Tensor } from "../tensor.ts";

/**
 * Base class of layers and models.
 *
 * @example
 * ```ts
 * import { initGpu, Linear } from "webgpu-bert";
 * await initGpu();
 * const fc = new Linear(4, 2, { seed: 1 });
 * console.log(fc.namedParameters().map(([n]) => n)); // ["weight", "bias"]
 * ```
 */
export abstract class Module {
  #params = new Map<string, Tensor>();
  #children = new Map<string, Module>();
  /** Dropout and similar layers act only while training. */
  training = true;

  /** Registers a parameter under `name` and returns it. */
  protected param(name: string, t: Tensor): Tensor {
    t.requiresGrad = true;
    this.#params.set(name, t);
    return t;
  }

  /**
   * Registers a child module under `name` (e.g. "encoder" or "layer.3") and returns it.
   * The empty name adds no path segment: a task head's parameters keep HF's top-level names
   * (`qa_outputs.weight`) while the head stays one module.
   */
  protected child<M extends Module>(name: string, m: M): M {
    this.#children.set(name, m);
    return m;
  }

  /**
   * Puts `m` in place of the child registered as `name`, and in every own property that held
   * the old child (its registered name may differ from the property's, e.g. `classifier.dense`
   * held in `dense`), so forward passes and parameter names both see it (e.g. wrapping a
   * Linear in an adapter). Returns `m`; the old child is not disposed.
   */
  replaceChild<M extends Module>(name: string, m: M): M {
    const old = this.#children.get(name);
    if (!old) throw new Error(`no child module named ${JSON.stringify(name)}`);
    this.#children.set(name, m);
    const self = this as unknown as Record<string, unknown>;
    for (const key of Object.keys(self)) if (self[key] === old) self[key] = m;
    return m;
  }

  /** Every parameter with its dotted name, in registration order. */
  namedParameters(prefix = ""): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [n, t] of this.#params) out.push([prefix + n, t]);
    for (const [n, m] of this.#children) {
      out.push(...m.namedParameters(n === "" ? prefix : `${prefix}${n}.`));
    }
    return out;
  }

  /** Every parameter, in registration order. */
  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  /**
   * The parameters an optimizer should update (those with `requiresGrad`: not frozen), with
   * their dotted names, in registration order.
   */
  namedTrainableParameters(): [string, Tensor][] {
    return this.namedParameters().filter(([, t]) => t.requiresGrad);
  }

  /** The direct children with the names they were registered under, in registration order. */
  namedChildren(): [string, Module][] {
    return [...this.#children];
  }

  /**
   * This module and every descendant with its dotted path (this one's is `path`), parents
   * before children, as PyTorch's `named_modules`: a child registered under "" shares its
   * parent's path. Adapters match these paths (e.g. `bert.encoder.layer.0.attention.self.query`).
   */
  namedModules(path = ""): [string, Module][] {
    const out: [string, Module][] = [[path, this]];
    for (const [n, m] of this.#children) {
      out.push(...m.namedModules(n === "" ? path : path === "" ? n : `${path}.${n}`));
    }
    return out;
  }

  /** Sets training mode (true) or evaluation mode (false) on this module and its children. */
  train(on = true): this {
    this.training = on;
    for (const m of this.#children.values()) m.train(on);
    return this;
  }

  /** Stops (or restarts) gradient updates of every parameter of this module. */
  freeze(frozen = true): this {
    for (const t of this.parameters()) t.requiresGrad = !frozen;
    return this;
  }

  /** Releases every parameter (and its gradient). */
  dispose(): void {
    for (const t of this.parameters()) t.dispose();
  }
}
