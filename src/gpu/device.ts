// Acquires the WebGPU adapter and device, and owns everything that touches them:
// the buffer pool, the pipeline cache and the per-step command encoder.

import { BufferPool } from "./pool.ts";
import { loadShaders } from "./shaders.ts";
import { NoAdapterError } from "./errors.ts";
import { envVar } from "../util/env.ts";

/** What was acquired: enough to tell a user which adapter runs their job. */
export interface GpuInfo {
  /** Adapter description, e.g. "llvmpipe (LLVM 15.0.6, 256 bits)". */
  name: string;
  /** "vulkan", "gl", … as chosen by `DENO_WEBGPU_BACKEND`, or "default". */
  backend: string;
  /** True for software adapters such as lavapipe/llvmpipe. */
  isFallback: boolean;
  /** The limits that were granted to the device. */
  limits: {
    maxStorageBufferBindingSize: number;
    maxBufferSize: number;
    maxComputeWorkgroupStorageSize: number;
    maxStorageBuffersPerShaderStage: number;
    maxComputeWorkgroupsPerDimension: number;
  };
  /** Optional adapter features, e.g. "shader-f16". */
  features: string[];
}

/** A device with its pool; created once per process by {@linkcode initGpu}. */
export interface Gpu {
  /** The WebGPU device every kernel runs on. */
  device: GPUDevice;
  /** The adapter, backend and granted limits. */
  info: GpuInfo;
  /** Allocator of the storage buffers behind tensors. */
  pool: BufferPool;
  /** WGSL source of every shader, by file name without `.wgsl`. */
  shaders: Map<string, string>;
  /** Errors reported asynchronously by error scopes, surfaced at the next sync point. */
  errors: Error[];
  /** Why the device was lost, or null while it is alive. */
  lost: string | null;
}

let current: Gpu | null = null;
let pending: Promise<Gpu> | null = null;

/**
 * Acquires the adapter and device (once; later calls return the same one).
 *
 * @example
 * ```ts
 * import { initGpu } from "webgpu-bert";
 * const gpu = await initGpu();
 * console.log(gpu.info.name);
 * ```
 */
export function initGpu(): Promise<Gpu> {
  if (current) return Promise.resolve(current);
  pending ??= acquire();
  return pending;
}

/** The device acquired by {@linkcode initGpu}; throws if it was not called. */
export function gpu(): Gpu {
  if (!current) throw new Error("call `await initGpu()` before using tensors");
  if (current.lost) throw new Error(`GPU device lost: ${current.lost}`);
  return current;
}

async function acquire(): Promise<Gpu> {
  const adapter = typeof navigator !== "undefined" && navigator.gpu
    ? await navigator.gpu.requestAdapter({ powerPreference: "high-performance" })
    : null;
  if (!adapter) throw new NoAdapterError();
  const a = adapter.limits;
  const requiredFeatures: GPUFeatureName[] = [];
  if (adapter.features.has("shader-f16")) requiredFeatures.push("shader-f16");
  const device = await adapter.requestDevice({
    requiredFeatures,
    requiredLimits: {
      maxStorageBufferBindingSize: a.maxStorageBufferBindingSize,
      maxBufferSize: a.maxBufferSize,
      maxComputeWorkgroupStorageSize: a.maxComputeWorkgroupStorageSize,
      maxStorageBuffersPerShaderStage: a.maxStorageBuffersPerShaderStage,
      maxComputeInvocationsPerWorkgroup: a.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupSizeX: a.maxComputeWorkgroupSizeX,
      maxComputeWorkgroupSizeY: a.maxComputeWorkgroupSizeY,
    },
  });
  const l = device.limits;
  const info: GpuInfo = {
    name: adapter.info?.description || adapter.info?.device || "unknown adapter",
    backend: envVar("DENO_WEBGPU_BACKEND") ?? "default",
    isFallback: adapter.info?.isFallbackAdapter ?? false,
    limits: {
      // wgpu reports 128 MiB on Mesa even when more is requested; trust the device.
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
      maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
    },
    features: [...device.features].map(String).sort(),
  };
  const g: Gpu = {
    device,
    info,
    pool: new BufferPool(device, info.limits.maxBufferSize),
    shaders: await loadShaders(),
    errors: [],
    lost: null,
  };
  device.lost.then((e) => {
    g.lost = e.message || e.reason;
  });
  device.addEventListener("uncapturederror", (e) => {
    g.errors.push(new Error((e as GPUUncapturedErrorEvent).error.message));
  });
  current = g;
  return g;
}
