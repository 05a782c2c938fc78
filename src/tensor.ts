// Tensor: a shape and dtype over a ref-counted GPU buffer from the pool.
// Views (reshape) share the buffer; the last dispose returns it to the pool.

import { gpu } from "./gpu/device.ts";
import { type Binding, download, settle, upload } from "./gpu/kernel.ts";

/** Element types: f32 for values, i32 for ids and labels. */
export type DType = "f32" | "i32";

/** Host array type of a dtype. */
export type HostArray = Float32Array | Int32Array;

class Storage {
  refs = 1;
  constructor(readonly buffer: GPUBuffer) {}
}

// Scopes collect the tensors created inside them so that a step can release them at once.
const scopes: Set<Tensor>[] = [];
let nextId = 0;

/** Number of elements of a shape. */
export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * An n-dimensional array on the GPU.
 *
 * @example
 * ```ts
 * import { initGpu, Tensor } from "webgpu-bert";
 * await initGpu();
 * const t = Tensor.fromArray(new Float32Array([1, 2, 3, 4]), [2, 2]);
 * console.log(await t.toArray()); // Float32Array [1, 2, 3, 4]
 * t.dispose();
 * ```
 */
export class Tensor {
  /** Unique id, for debugging and tape bookkeeping. */
  readonly id = nextId++;
  /** Set by autograd when a leaf's gradient is accumulated. */
  #grad: Tensor | null = null;
  #storage: Storage | null;
  /** True for parameters being trained and for results of ops on them. */
  requiresGrad = false;
  /** False once an op produced this tensor while recording gradients. */
  isLeaf = true;

  private constructor(
    readonly shape: readonly number[],
    readonly dtype: DType,
    storage: Storage,
    /** A name used in error messages and checkpoints. */
    public name = "",
  ) {
    this.#storage = storage;
    scopes.at(-1)?.add(this);
  }

  /** An uninitialized tensor (its contents are whatever the pooled buffer held). */
  static empty(shape: readonly number[], dtype: DType = "f32", name = ""): Tensor {
    for (const d of shape) {
      if (!Number.isInteger(d) || d < 0) throw new Error(`invalid shape [${shape}] for ${name}`);
    }
    const bytes = Math.max(4, numel(shape) * 4);
    const buffer = gpu().pool.acquire(bytes, `tensor ${name || "[" + shape + "]"}`);
    return new Tensor([...shape], dtype, new Storage(buffer), name);
  }

  /** A tensor holding a copy of `data`; `shape` defaults to 1-D. */
  static fromArray(data: HostArray | number[], shape?: readonly number[], name = ""): Tensor {
    const arr = Array.isArray(data) ? new Float32Array(data) : data;
    const s = shape ?? [arr.length];
    if (numel(s) !== arr.length) {
      throw new Error(`${arr.length} values do not fill shape [${s}]`);
    }
    const t = Tensor.empty(s, arr instanceof Int32Array ? "i32" : "f32", name);
    if (arr.length) upload(t.storage.buffer, 0, arr);
    return t;
  }

  /** Number of elements. */
  get size(): number {
    return numel(this.shape);
  }

  /** Bytes of data (not of the pooled buffer, which may be larger). */
  get byteLength(): number {
    return this.size * 4;
  }

  /** Whether dispose() has released this tensor. */
  get disposed(): boolean {
    return this.#storage === null;
  }

  /** The accumulated gradient, or null. */
  get grad(): Tensor | null {
    return this.#grad;
  }

  set grad(g: Tensor | null) {
    if (g === this.#grad) return;
    this.#grad?.dispose();
    if (g) keep(g);
    this.#grad = g;
  }

  /** @internal the shared buffer; only ops and src/gpu use it. */
  get storage(): Storage {
    if (!this.#storage) throw new Error(`tensor ${this.name || this.id} used after dispose`);
    return this.#storage;
  }

  /** This tensor (or a range of it, in elements) as a kernel binding. */
  binding(start = 0, count = this.size - start): Binding {
    return {
      buffer: this.storage.buffer,
      offset: start * 4,
      size: Math.max(4, count * 4),
      name: `${this.name || "[" + this.shape + "]"}`,
    };
  }

  /** A view with another shape over the same data (no copy); gradients flow through it. */
  view(shape: readonly number[] = this.shape): Tensor {
    const s = resolveShape(shape, this.size);
    const st = this.storage;
    st.refs++;
    const t = new Tensor(s, this.dtype, st, this.name);
    onView?.(this, t);
    return t;
  }

  /** Overwrites elements [start, start + data.length) with host data (all of it by default). */
  write(data: HostArray, start?: number): void {
    if (start === undefined ? data.length !== this.size : start + data.length > this.size) {
      throw new Error(
        `${data.length} values do not fit ${this.name || "tensor"} [${this.shape}] at ${start}`,
      );
    }
    if (data.length) upload(this.storage.buffer, (start ?? 0) * 4, data);
  }

  /** Copies the data back to the host. */
  async toArray(): Promise<HostArray> {
    const buf = await download(this.storage.buffer, 0, this.byteLength);
    return this.dtype === "i32" ? new Int32Array(buf) : new Float32Array(buf);
  }

  /** Reads a one-element tensor as a number. */
  async item(): Promise<number> {
    if (this.size !== 1) throw new Error(`item() needs one element, got [${this.shape}]`);
    return (await this.toArray())[0];
  }

  /** Releases the GPU buffer (shared with views until the last one is released). */
  dispose(): void {
    const st = this.#storage;
    if (!st) return;
    this.#storage = null;
    this.#grad?.dispose();
    this.#grad = null;
    for (const s of scopes) s.delete(this);
    if (--st.refs === 0) gpu().pool.release(st.buffer);
  }
}

/** Resolves one -1 in a shape against a total size. */
export function resolveShape(shape: readonly number[], size: number): number[] {
  const known = shape.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  const out = shape.map((d) => (d === -1 ? size / known : d));
  if (numel(out) !== size || out.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new Error(`cannot view ${size} elements as [${shape}]`);
  }
  return out;
}

/** Removes a tensor from every open scope, so it outlives them. */
export function keep<T extends Tensor>(t: T): T {
  for (const s of scopes) s.delete(t);
  return t;
}

function collect(value: unknown, into: Set<Tensor>): void {
  if (value instanceof Tensor) into.add(value);
  else if (Array.isArray(value)) value.forEach((v) => collect(v, into));
  else if (value && typeof value === "object" && !(value instanceof Promise)) {
    Object.values(value).forEach((v) => collect(v, into));
  }
}

function closeScope(s: Set<Tensor>, result: unknown): void {
  scopes.pop();
  const kept = new Set<Tensor>();
  collect(result, kept);
  for (const t of s) {
    if (kept.has(t)) scopes.at(-1)?.add(t);
    else t.dispose();
  }
  onScopeClose?.();
}

let onScopeClose: (() => void) | null = null;
let onView: ((src: Tensor, view: Tensor) => void) | null = null;
/** @internal autograd records views of tensors that require grad. */
export function setViewHook(f: (src: Tensor, view: Tensor) => void): void {
  onView = f;
}
/** @internal autograd drops tape entries whose tensors a scope released. */
export function setScopeCloseHook(f: () => void): void {
  onScopeClose = f;
}

/**
 * Runs `fn` and disposes every tensor it created, except those it returns (found in
 * arrays and plain objects), those passed to {@linkcode keep}, and gradients.
 *
 * @example
 * ```ts
 * import { initGpu, scope, Tensor } from "webgpu-bert";
 * await initGpu();
 * const y = scope(() => Tensor.fromArray([1, 2]).view([2, 1]));
 * console.log(y.shape); // [2, 1]
 * ```
 */
export function scope<T>(fn: () => T): T {
  const s = new Set<Tensor>();
  scopes.push(s);
  let result: T | undefined;
  try {
    result = fn();
    return result;
  } finally {
    closeScope(s, result);
  }
}

/** {@linkcode scope} for async functions; nothing else may open scopes meanwhile. */
export async function scopeAsync<T>(fn: () => Promise<T>): Promise<T> {
  const s = new Set<Tensor>();
  scopes.push(s);
  let result: T | undefined;
  try {
    result = await fn();
  } finally {
    closeScope(s, result);
  }
  await settle();
  return result;
}
