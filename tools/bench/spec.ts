// What is measured: the shapes and model sizes both sides of each comparison use.

/** One matrix product A[batch, M, K] · B[batch, K, N] (batch 1 means plain 2-D operands). */
export interface MatmulShape {
  /** Key in the JSON output. */
  key: string;
  /** Readable name for the table. */
  label: string;
  batch: number;
  M: number;
  K: number;
  N: number;
}

/** 1024³ and the products of a BERT-base layer at seq 384. */
export const MATMUL_SHAPES: MatmulShape[] = [
  { key: "1024", label: "1024x1024 · 1024x1024", batch: 1, M: 1024, K: 1024, N: 1024 },
  { key: "qkvo", label: "384x768 · 768x768", batch: 1, M: 384, K: 768, N: 768 },
  { key: "ffn_up", label: "384x768 · 768x3072", batch: 1, M: 384, K: 768, N: 3072 },
  { key: "ffn_down", label: "384x3072 · 3072x768", batch: 1, M: 384, K: 3072, N: 768 },
  { key: "attn", label: "12x384x64 · 12x64x384", batch: 12, M: 384, K: 64, N: 384 },
];

/** Floating-point operations of a product. */
export function flops(s: MatmulShape): number {
  return 2 * s.batch * s.M * s.K * s.N;
}

/** The BERT-base encoder layer timed forward + backward (dropout off on both sides). */
export const LAYER = { hidden: 768, heads: 12, inter: 3072, batch: 1, seq: 384, eps: 1e-12 };

/** A model size for the training-step and memory measurements. */
export interface ModelSize {
  hidden: number;
  layers: number;
  heads: number;
  inter: number;
}

/** BERT-tiny and BERT-mini (Turc et al.), and BERT-base. */
export const SIZES: Record<"tiny" | "mini" | "base", ModelSize> = {
  tiny: { hidden: 128, layers: 2, heads: 2, inter: 512 },
  mini: { hidden: 256, layers: 4, heads: 4, inter: 1024 },
  base: { hidden: 768, layers: 12, heads: 12, inter: 3072 },
};

/** BERT's uncased WordPiece vocabulary size, used by every model here. */
export const VOCAB = 30522;

/** Parameters of one encoder layer: Q, K, V, O, FFN up and down, two LayerNorms. */
export function layerParams(s: ModelSize): number {
  const h = s.hidden;
  return 4 * (h * h + h) + (h * s.inter + s.inter) + (s.inter * h + h) + 4 * h;
}
