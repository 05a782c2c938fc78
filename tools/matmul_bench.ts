// Matmul throughput on the current adapter: GFLOP/s over the median of 5 timed runs after a
// warm-up (which also compiles the pipeline), each waiting for the GPU to finish.
// Run: deno run -A tools/matmul_bench.ts [f16]   (f16: operands rounded to f16, f32 sums;
// needs shader-f16)

import { initGpu } from "../src/gpu/device.ts";
import { sync } from "../src/gpu/kernel.ts";
import { matmul, type MatmulOptions, setMatmulPrecision } from "../src/ops/matmul.ts";
import { Tensor } from "../src/tensor.ts";

const { info } = await initGpu();
const precision = Deno.args[0] === "f16" ? "f16" : "f32";
console.log(`adapter: ${info.name} (backend ${info.backend}), ${precision}`);
setMatmulPrecision(precision);

function random(shape: number[]): Tensor {
  const data = new Float32Array(shape[0] * shape[1]);
  for (let i = 0; i < data.length; i++) data[i] = Math.random() - 0.5;
  return Tensor.fromArray(data, shape);
}

async function bench(M: number, K: number, N: number, opts: MatmulOptions = {}): Promise<void> {
  const a = random(opts.transA ? [K, M] : [M, K]);
  const b = random(opts.transB ? [N, K] : [K, N]);
  const times: number[] = [];
  for (let i = 0; i < 6; i++) {
    const t0 = performance.now();
    const y = matmul(a, b, opts);
    await sync();
    if (i > 0) times.push(performance.now() - t0);
    y.dispose();
  }
  times.sort((x, y) => x - y);
  const ms = times[2];
  const flags = `${opts.transA ? "ᵀ" : ""}·${opts.transB ? "ᵀ" : ""}`;
  const name = `${M}x${K} ${flags} ${K}x${N}`.padEnd(22);
  console.log(`${name} ${(2 * M * N * K / ms / 1e6).toFixed(2)} GFLOP/s (${ms.toFixed(1)} ms)`);
  a.dispose();
  b.dispose();
}

await bench(1024, 1024, 1024);
await bench(384, 768, 3072);
// The flags the backward uses, and Linear's x·Wᵀ.
await bench(1024, 1024, 1024, { transB: true });
await bench(1024, 1024, 1024, { transA: true });
await bench(384, 768, 3072, { transB: true });
