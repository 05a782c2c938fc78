/** Thrown when no WebGPU adapter exists; its message says how to get one. */
export class NoAdapterError extends Error {
  constructor() {
    super(
      "no WebGPU adapter found. Install a GPU driver, or a software adapter with " +
        "`apt-get install -y mesa-vulkan-drivers` (Vulkan lavapipe); " +
        "`DENO_WEBGPU_BACKEND=gl` selects the OpenGL/llvmpipe fallback.",
    );
    this.name = "NoAdapterError";
  }
}

/** Thrown when a tensor would exceed a device limit; names the tensor, its size and the limit. */
export class GpuLimitError extends Error {
  /** `what` needs `bytes` bytes, over the device limit `limitName` of `limit` bytes. */
  constructor(what: string, bytes: number, limitName: string, limit: number) {
    super(
      `${what} needs ${bytes} bytes, over ${limitName} (${limit}); ` +
        "use a smaller batch size or sequence length",
    );
    this.name = "GpuLimitError";
  }
}
