// Reuses storage buffers by size class so that a training loop stops calling
// createBuffer after its first step. Classes are 4 per octave: at most 25% waste.

import { GpuLimitError } from "./errors.ts";

const MIN_BYTES = 256;

/** Rounds a byte count up to its size class. */
export function sizeClass(bytes: number): number {
  const b = Math.max(MIN_BYTES, Math.ceil(bytes / 4) * 4);
  const octave = 2 ** Math.floor(Math.log2(b));
  const step = octave / 4;
  const c = Math.ceil(b / step) * step;
  return c;
}

/** Allocation statistics of a {@linkcode BufferPool}, in bytes. */
export interface PoolStats {
  /** Bytes held by live tensors. */
  liveBytes: number;
  /** The most `liveBytes` has ever been (or since `resetPeak`). */
  peakBytes: number;
  /** Bytes held in free lists, ready for reuse. */
  freeBytes: number;
  /** How many times a new GPU buffer was created. */
  created: number;
}

/** A free-list allocator of GPU storage buffers keyed by size class. */
export class BufferPool {
  #free = new Map<number, GPUBuffer[]>();
  #stats: PoolStats = { liveBytes: 0, peakBytes: 0, freeBytes: 0, created: 0 };
  #device: GPUDevice;
  #maxBufferSize: number;
  /** Errors from out-of-memory scopes, read by the next sync point. */
  readonly errors: Error[] = [];

  /** A pool on `device`; requests over `maxBufferSize` bytes throw a GpuLimitError. */
  constructor(device: GPUDevice, maxBufferSize: number) {
    this.#device = device;
    this.#maxBufferSize = maxBufferSize;
  }

  /** A buffer of at least `bytes` bytes; `what` names it in errors. */
  acquire(bytes: number, what: string): GPUBuffer {
    const size = sizeClass(bytes);
    if (size > this.#maxBufferSize) {
      throw new GpuLimitError(what, bytes, "maxBufferSize", this.#maxBufferSize);
    }
    const list = this.#free.get(size);
    let buf = list?.pop();
    if (buf) {
      this.#stats.freeBytes -= size;
    } else {
      buf = this.#create(size, what);
    }
    this.#stats.liveBytes += size;
    this.#stats.peakBytes = Math.max(this.#stats.peakBytes, this.#stats.liveBytes);
    return buf;
  }

  /** Returns a buffer from {@linkcode acquire} for reuse. */
  release(buf: GPUBuffer): void {
    const size = buf.size;
    this.#stats.liveBytes -= size;
    this.#stats.freeBytes += size;
    const list = this.#free.get(size);
    if (list) list.push(buf);
    else this.#free.set(size, [buf]);
  }

  /** Destroys every free buffer, giving the memory back to the driver. */
  trim(): void {
    for (const list of this.#free.values()) for (const b of list) b.destroy();
    this.#free.clear();
    this.#stats.freeBytes = 0;
  }

  /** A snapshot of the counters. */
  stats(): PoolStats {
    return { ...this.#stats };
  }

  /** Restarts peak tracking from the current live bytes. */
  resetPeak(): void {
    this.#stats.peakBytes = this.#stats.liveBytes;
  }

  #create(size: number, what: string): GPUBuffer {
    const d = this.#device;
    d.pushErrorScope("out-of-memory");
    d.pushErrorScope("validation");
    const buf = d.createBuffer({
      size,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
    const report = (e: GPUError | null) => {
      if (e) this.errors.push(new Error(`allocating ${what} (${size} bytes): ${e.message}`));
    };
    d.popErrorScope().then(report);
    d.popErrorScope().then(report);
    this.#stats.created++;
    return buf;
  }
}
