// Weight-init seeding owned by one model, so that models built in the same process (two
// encoders for DPR, a teacher beside a student) never share or reset each other's counter.

import type { InitOptions } from "../nn/layers.ts";

/**
 * Hands out the init of each parameterized layer in construction order: the k-th layer of a
 * model seeded `seed` draws from seed·7919 + k·104729 with N(0, std). A top-level model makes
 * one and passes it down, heads included, so a head continues its encoder's sequence.
 *
 * @example
 * ```ts
 * import { InitCtx } from "webgpu-bert";
 * const init = new InitCtx(1, 0.02);
 * console.log(init.next(), init.next()); // { seed: 7919, std: 0.02 } { seed: 112648, std: 0.02 }
 * ```
 */
export class InitCtx {
  #k = 0;
  /** A sequence for the model seeded `seed`, with normal std `std` (`initializer_range`). */
  constructor(readonly seed: number, readonly std: number) {}
  /** `seeds` itself, or a fresh sequence for the seed `seeds` (a layer built on its own). */
  static of(seeds: InitCtx | number, std: number): InitCtx {
    return typeof seeds === "number" ? new InitCtx(seeds, std) : seeds;
  }
  /** The init of the next layer. */
  next(): InitOptions {
    return { seed: this.seed * 7919 + this.#k++ * 104729, std: this.std };
  }
  /** How many inits were handed out. */
  get count(): number {
    return this.#k;
  }
}
