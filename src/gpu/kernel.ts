// Records kernel launches into one command encoder per step and submits them together.
// Uniform parameters of every launch go into one arena buffer, written once per submit,
// so the hot loop creates no buffers.

import { gpu } from "./device.ts";
import { GpuLimitError } from "./errors.ts";
import type { ShaderName } from "./shaders.ts";
import { StagingRing } from "./staging.ts";

/** A scalar kernel parameter; the shader declares the same fields in order. */
export type Param = { t: "u32" | "i32" | "f32"; v: number };
/** An unsigned 32-bit kernel parameter. */
export const u32 = (v: number): Param => ({ t: "u32", v });
/** A signed 32-bit kernel parameter. */
export const i32 = (v: number): Param => ({ t: "i32", v });
/** A 32-bit float kernel parameter. */
export const f32 = (v: number): Param => ({ t: "f32", v });

/** A range of a GPU buffer bound as storage; `name` names it in limit errors. */
export interface Binding {
  /** The buffer that holds the range. */
  buffer: GPUBuffer;
  /** Start of the range, in bytes. */
  offset: number;
  /** Length of the range, in bytes. */
  size: number;
  /** The tensor's name or shape, for error messages. */
  name: string;
}

/** One compute dispatch. Binding 0 is the params uniform; storage bindings follow from 1. */
export interface Launch {
  shader: ShaderName;
  entry: string;
  constants?: Record<string, number>;
  params?: Param[];
  bindings: Binding[];
  workgroups: readonly [number, number?, number?];
}

const SLOT = 256;
const SLOTS = 4096;

interface Recorder {
  encoder: GPUCommandEncoder | null;
  pass: GPUComputePassEncoder | null;
  arena: GPUBuffer;
  staging: ArrayBuffer;
  view: DataView;
  used: number;
  launches: number;
  submits: number;
  ring: StagingRing;
  pending: number;
}

let rec: Recorder | null = null;
const pipelines = new Map<string, GPUComputePipeline>();
// Modules are keyed by their expanded source (includes pasted in), so two shaders, or two
// loads, that expand to the same text share one module, and a changed include never hits a
// stale one. Pipelines key on the module's number: the source is hashed once per string,
// where a key spelling it out would rehash kilobytes on every launch.
const modules = new Map<string, { module: GPUShaderModule; id: number }>();
// Readback buffers are kept by size so that reading the loss every N steps allocates nothing.
const readbackFree = new Map<number, GPUBuffer[]>();

function recorder(): Recorder {
  if (rec) return rec;
  const staging = new ArrayBuffer(SLOT * SLOTS);
  rec = {
    encoder: null,
    pass: null,
    arena: gpu().device.createBuffer({
      size: SLOT * SLOTS,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    }),
    staging,
    view: new DataView(staging),
    used: 0,
    launches: 0,
    submits: 0,
    ring: new StagingRing(gpu().device),
    pending: 0,
  };
  return rec;
}

function shaderModule(shader: ShaderName) {
  const { device, shaders } = gpu();
  const code = shaders.get(shader)!;
  let m = modules.get(code);
  if (!m) {
    m = { module: device.createShaderModule({ code, label: shader }), id: modules.size };
    modules.set(code, m);
  }
  return m;
}

function pipeline(shader: ShaderName, entry: string, constants?: Record<string, number>) {
  const { module, id } = shaderModule(shader);
  const consts = constants ? JSON.stringify(constants) : "";
  const key = `${id}:${entry}:${consts}`;
  let p = pipelines.get(key);
  if (p) return p;
  const { device } = gpu();
  const label = `${shader}:${entry}:${consts}`;
  device.pushErrorScope("validation");
  p = device.createComputePipeline({
    label,
    layout: "auto",
    compute: { module, entryPoint: entry, constants },
  });
  device.popErrorScope().then((e) => {
    if (e) gpu().errors.push(new Error(`pipeline ${label}: ${e.message}`));
  });
  pipelines.set(key, p);
  return p;
}

/** Workgroup counts covering `n` invocations of `wg` threads, folded into y past 65535. */
export function grid(n: number, wg: number): [number, number, number] {
  const groups = Math.max(1, Math.ceil(n / wg));
  const max = gpu().info.limits.maxComputeWorkgroupsPerDimension;
  if (groups <= max) return [groups, 1, 1];
  return [max, Math.ceil(groups / max), 1];
}

/** Records one dispatch into the current step's encoder. */
export function launch(l: Launch): void {
  const r = recorder();
  if (r.used >= SLOTS) flush();
  const { device, info } = gpu();
  for (const b of l.bindings) {
    if (b.size > info.limits.maxStorageBufferBindingSize) {
      throw new GpuLimitError(
        `tensor ${b.name}`,
        b.size,
        "maxStorageBufferBindingSize",
        info.limits.maxStorageBufferBindingSize,
      );
    }
  }
  const p = pipeline(l.shader, l.entry, l.constants);
  const entries: GPUBindGroupEntry[] = [];
  if (l.params?.length) {
    const base = r.used * SLOT;
    l.params.forEach((q, i) => {
      const at = base + 4 * i;
      if (q.t === "f32") r.view.setFloat32(at, q.v, true);
      else if (q.t === "i32") r.view.setInt32(at, q.v, true);
      else r.view.setUint32(at, q.v, true);
    });
    entries.push({
      binding: 0,
      resource: { buffer: r.arena, offset: base, size: Math.ceil(l.params.length / 4) * 16 },
    });
    r.used++;
  }
  l.bindings.forEach((b, i) =>
    entries.push({
      binding: i + 1,
      resource: { buffer: b.buffer, offset: b.offset, size: Math.max(4, b.size) },
    })
  );
  const group = device.createBindGroup({ layout: p.getBindGroupLayout(0), entries });
  if (!r.encoder) r.encoder = device.createCommandEncoder();
  if (!r.pass) r.pass = r.encoder.beginComputePass();
  r.pass.setPipeline(p);
  r.pass.setBindGroup(0, group);
  const [x, y = 1, z = 1] = l.workgroups;
  r.pass.dispatchWorkgroups(x, y, z);
  r.launches++;
}

/** Submits everything recorded so far as one command buffer. */
export function flush(): void {
  const r = rec;
  if (!r || !r.encoder) return;
  const { device } = gpu();
  r.pass?.end();
  r.pass = null;
  const buffers: GPUCommandBuffer[] = [];
  if (r.used) {
    // The params must land before the launches that read them: a copy in its own command
    // buffer, submitted first.
    const bytes = r.used * SLOT;
    // Always the arena's full size, so one size class serves every flush.
    const st = r.ring.take(SLOT * SLOTS);
    new Uint8Array(st.getMappedRange(0, bytes)).set(new Uint8Array(r.staging, 0, bytes));
    st.unmap();
    const pre = device.createCommandEncoder();
    pre.copyBufferToBuffer(st, 0, r.arena, 0, bytes);
    r.ring.used(st);
    buffers.push(pre.finish());
  }
  buffers.push(r.encoder.finish());
  device.pushErrorScope("validation");
  device.queue.submit(buffers);
  r.ring.afterSubmit();
  device.popErrorScope().then((e) => {
    if (e) gpu().errors.push(new Error(`dispatch: ${e.message}`));
  });
  r.encoder = null;
  r.used = 0;
  r.pending = 0;
  r.submits++;
}

/** Launches and submits recorded, and upload staging buffers created, for tests and the bench. */
export function counters(): { launches: number; submits: number; stagingCreated: number } {
  const r = recorder();
  return { launches: r.launches, submits: r.submits, stagingCreated: r.ring.created };
}

/** Shader modules compiled so far, one per distinct expanded source, for tests. */
export function shaderModules(): number {
  return modules.size;
}

/**
 * Writes host data into a buffer, in order with the launches recorded before and after it
 * (a copy recorded into the same encoder, so a reused buffer is never overwritten early).
 */
export function upload(buffer: GPUBuffer, offset: number, data: ArrayBufferView): void {
  const r = recorder();
  const bytes = new Uint8Array(data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
  const padded = Math.ceil(bytes.byteLength / 4) * 4;
  const st = r.ring.take(padded);
  new Uint8Array(st.getMappedRange(0, padded)).set(bytes);
  st.unmap();
  if (!r.encoder) r.encoder = gpu().device.createCommandEncoder();
  r.pass?.end();
  r.pass = null;
  r.encoder.copyBufferToBuffer(st, 0, buffer, offset, padded);
  r.ring.used(st);
  // Staging buffers hold their data until the submit: bound what one step may pile up.
  r.pending += padded;
  if (r.pending > 64 * 1024 * 1024) flush();
}

/** Copies `size` bytes of a buffer back to the host, after all recorded launches. */
export async function download(
  buffer: GPUBuffer,
  offset: number,
  size: number,
): Promise<ArrayBuffer> {
  const g = gpu();
  const r = recorder();
  const padded = Math.max(4, Math.ceil(size / 4) * 4);
  const free = readbackFree.get(padded);
  const staging = free?.pop() ?? g.device.createBuffer({
    size: padded,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  if (!r.encoder) r.encoder = g.device.createCommandEncoder();
  r.pass?.end();
  r.pass = null;
  r.encoder.copyBufferToBuffer(buffer, offset, staging, 0, padded);
  flush();
  try {
    await staging.mapAsync(GPUMapMode.READ);
    const out = staging.getMappedRange().slice(0, size);
    staging.unmap();
    if (free) free.push(staging);
    else readbackFree.set(padded, [staging]);
    return out;
  } finally {
    await sync();
  }
}

/** Waits for the queue and throws the first error an error scope reported. */
export async function sync(): Promise<void> {
  flush();
  const g = gpu();
  await g.device.queue.onSubmittedWorkDone();
  const err = g.errors.shift() ?? g.pool.errors.shift();
  if (err) throw err;
}

/**
 * Submits the step, then lets the event loop turn once. Deno resolves GPU map callbacks only then, so a step
 * boundary that yields gets its upload staging buffers back for reuse.
 */
export async function settle(): Promise<void> {
  flush();
  await new Promise((resolve) => setTimeout(resolve, 0));
  if (rec) await rec.ring.settle();
}
