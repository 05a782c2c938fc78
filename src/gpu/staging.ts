// Upload staging buffers, reused. Deno 2.9's queue.writeBuffer keeps every write's memory
// (RSS grows by each write's size), so uploads go through buffers we map, fill, unmap and
// copy from; after each submit they are mapped again in the background for reuse.

import { sizeClass } from "./pool.ts";

/** A pool of MAP_WRITE | COPY_SRC buffers by size class. */
export class StagingRing {
  #ready = new Map<number, GPUBuffer[]>();
  #inFlight: GPUBuffer[] = [];
  #remaps: Promise<unknown>[] = [];
  /** Buffers created so far (flat once a loop has warmed up). */
  created = 0;

  constructor(private readonly device: GPUDevice) {}

  /** A buffer of at least `bytes`, mapped for writing. */
  take(bytes: number): GPUBuffer {
    const size = sizeClass(bytes);
    const buf = this.#ready.get(size)?.pop();
    if (buf) return buf;
    this.created++;
    return this.device.createBuffer({
      size,
      usage: GPUBufferUsage.MAP_WRITE | GPUBufferUsage.COPY_SRC,
      mappedAtCreation: true,
    });
  }

  /** Marks `buf` (unmapped, with a copy recorded) as used by the commands being recorded. */
  used(buf: GPUBuffer): void {
    this.#inFlight.push(buf);
  }

  /** After a submit: map the buffers it used again, ready once the GPU is done with them. */
  afterSubmit(): void {
    const maps = this.#inFlight.map((buf) =>
      buf.mapAsync(GPUMapMode.WRITE).then(
        () => {
          const list = this.#ready.get(buf.size);
          if (list) list.push(buf);
          else this.#ready.set(buf.size, [buf]);
        },
        () => buf.destroy(),
      )
    );
    if (maps.length) this.#remaps.push(Promise.all(maps));
    this.#inFlight = [];
  }

  /**
   * Waits until the buffers of every submit but the latest are mapped again: one step stays
   * in flight, and the ring stops growing however far the CPU runs ahead of the GPU.
   */
  async settle(): Promise<void> {
    const older = this.#remaps.slice(0, -1);
    this.#remaps = this.#remaps.slice(-1);
    await Promise.all(older);
  }
}
