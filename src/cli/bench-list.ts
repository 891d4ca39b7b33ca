/** The benchmarks of `glmkit bench`, in one place: its help, its error for an unknown one, and `glmkit --help`. */
export const BENCHMARKS = {
  kernels: 'GEMM GFLOPS for the reference shapes (float32 and bf16 compute) and fused attention forward/backward tokens/s',
  train: 'training tokens/s of a GLM preset (default bench: batch 8, sequence 256, AdamW, fp32; --mixed-precision bf16)',
  tokenizer: 'BPE training and encoding speed, against @huggingface/tokenizers when installed',
  generate: 'decode tokens/s at batch 1 and 8 (tiny, small), against llama.cpp on the GGUF export (see bench generate --help)',
  serve: 'loopback load test of glmkit serve (concurrent streaming clients; see bench serve --help)',
  rollout: 'rollout tokens/s in-process vs one and two glmkit serve servers over HTTP, batch 1 and 32 (see bench rollout --help)',
  embed: 'sentence embeddings/s of the encoder (batch 32 x 32 tokens, tiny) against the same model\'s plain forward',
} as const;

export type BenchmarkName = keyof typeof BENCHMARKS;

export const BENCHMARK_NAMES = Object.keys(BENCHMARKS) as BenchmarkName[];
