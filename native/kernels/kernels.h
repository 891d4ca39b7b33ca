// Declarations of every native kernel. Kernels are pure functions over pointers and sizes: they
// never allocate tensors, never throw for bad shapes (binding.cpp validates first) and know nothing
// about models. Each has a TypeScript twin in src/tensor/backend/reference/ with the same contract
// (see src/tensor/backend/backend.ts for the documented semantics of every argument).
#pragma once
#include <cstdint>

namespace glmkit {

// ---- gemm.cpp / gemm_avx2.cpp -------------------------------------------------------------
struct GemmParams {
  const float* a;
  const float* b;
  float* c;
  int64_t batch, m, n, k;
  bool trans_a, trans_b;
  int64_t stride_a, stride_b, stride_c;
  float alpha, beta;
  // bf16 compute (mixed-precision training): A and B are rounded to bfloat16 (nearest even, denormals
  // to zero) and their products summed in float32; C stays float32. AVX512_BF16 dot products where
  // the CPU has them (and the ISA cap allows avx512), else the f32 kernels on rounded panels.
  bool bf16_compute;
};
void gemm(const GemmParams& p);
// "avx512", "avx2+fma" or "portable": the micro-kernel chosen at run time.
const char* gemm_isa();
// The kernel bf16 compute would use: "avx512_bf16", or "<isa> (bf16-rounded panels)".
const char* gemm_mixed_isa();
// Prepacked weights (decoding runs thousands of products with one weight): W [n, k] (a linear
// layer's [out, in]) packed into the active kernel's B panels. gemm_packed_size gives the floats the
// layout needs; gemm_pack_weights fills `out` and returns the kernel's name (gemm_isa()), which a
// caller keeps with the buffer: the layout is that kernel's. gemm_prepacked computes
// C[m, n] = A[m, k] @ W^T + beta * C from that buffer with the bits gemm() gives for m > 8 rows.
int64_t gemm_packed_size(int64_t n, int64_t k);
const char* gemm_pack_weights(const float* w, int64_t n, int64_t k, float* out);
void gemm_prepacked(const float* a, const float* packed, float* c, int64_t m, int64_t n, int64_t k, float beta);

// ---- gemm_bf16.cpp / gemm_bf16_avx2.cpp / gemm_bf16_avx512.cpp ----------------------------
// C[m, n] = A[m, k] @ op(B) + beta * C (beta == 0: C not read), A and C float32, B bfloat16 bits
// stored [k, n], or [n, k] when trans_b (a linear weight). Arithmetic in float32.
struct GemmBf16Params {
  const float* a;
  const uint16_t* b;
  float* c;
  int64_t m, n, k;
  bool trans_b;
  float beta;
  // Opt-in (GLMKIT_BF16_DOT=1 in the ops): round A to bf16 and use AVX512_BF16 dot products. Honoured
  // only for trans_b on a CPU with avx512_bf16 under an AVX-512 ISA cap; elsewhere the default path.
  bool bf16_dot;
};
void gemm_bf16(const GemmBf16Params& p);
// The bf16-dot path this process would take: "avx512_bf16", or "off (<reason>)".
const char* gemm_bf16_dot_isa();
// The skinny (decode) kernel chosen at run time: "avx512", "avx2+fma" or "portable".
const char* gemm_bf16_isa();

// ---- norm.cpp -----------------------------------------------------------------------------
void rmsnorm_forward(const float* x, const float* w, float* out, float* rstd, int64_t rows, int64_t dim, float eps);
// dx overwritten, dw accumulated (+=).
void rmsnorm_backward(const float* dy, const float* x, const float* w, const float* rstd, float* dx, float* dw,
                      int64_t rows, int64_t dim);
// LayerNorm (biased variance); mean and rstd [rows] saved for backward.
void layernorm_forward(const float* x, const float* w, const float* b, float* out, float* mean, float* rstd,
                       int64_t rows, int64_t dim, float eps);
// dx overwritten, dw and db accumulated (+=).
void layernorm_backward(const float* dy, const float* x, const float* w, const float* mean, const float* rstd,
                        float* dx, float* dw, float* db, int64_t rows, int64_t dim);

// ---- rope.cpp -----------------------------------------------------------------------------
void rope(const float* x, const float* cos, const float* sin, float* out, int64_t rows, int64_t heads,
          int64_t head_dim, int64_t rotary_dim, bool interleaved, bool inverse);

// ---- attention.cpp ------------------------------------------------------------------------
struct AttentionParams {
  int64_t batch, tq, tk, q_offset, heads_q, heads_kv, head_dim;
  float scale;
  bool causal;
  const int32_t* prefix_len;  // [batch] or nullptr
  const int32_t* key_mask;    // [batch, kv_capacity] or nullptr
  int64_t kv_capacity;        // key slots per batch row of k, v, key_mask (>= tk; the first tk are read)
};
void attention_forward(const AttentionParams& p, const float* q, const float* k, const float* v, float* out,
                       float* lse);
void attention_backward(const AttentionParams& p, const float* q, const float* k, const float* v, const float* out,
                        const float* lse, const float* dout, float* dq, float* dk, float* dv);

// ---- softmax.cpp --------------------------------------------------------------------------
void softmax_forward(const float* x, float* out, int64_t rows, int64_t cols);
void softmax_backward(const float* y, const float* dy, float* dx, int64_t rows, int64_t cols);
void log_softmax_forward(const float* x, float* out, int64_t rows, int64_t cols);
void log_softmax_backward(const float* y, const float* dy, float* dx, int64_t rows, int64_t cols);
void cross_entropy_forward(const float* logits, const int32_t* targets, float* losses, float* lse, int64_t rows,
                           int64_t cols, int32_t ignore_index);
void cross_entropy_backward(const float* logits, const int32_t* targets, const float* lse, const float* dloss,
                            float* dlogits, int64_t rows, int64_t cols, int32_t ignore_index);

// ---- elementwise.cpp ----------------------------------------------------------------------
void swiglu_forward(const float* x, float* out, int64_t rows, int64_t inner);
void swiglu_backward(const float* x, const float* dout, float* dx, int64_t rows, int64_t inner);
void embedding_forward(const float* table, const int32_t* ids, float* out, int64_t n, int64_t dim);
void embedding_backward(const int32_t* ids, const float* dout, float* dtable, int64_t n, int64_t vocab, int64_t dim);
// GELU, exact erf form; dx overwritten.
void gelu_forward(const float* x, float* out, int64_t n);
void gelu_backward(const float* x, const float* dout, float* dx, int64_t n);
// out[i] = x[i] + y[i] / x[i] * y[i] for i < n (out may alias x or y).
void add_forward(const float* x, const float* y, float* out, int64_t n);
void mul_forward(const float* x, const float* y, float* out, int64_t n);

// ---- moe.cpp --------------------------------------------------------------------------------
// The routed experts (and shared expert) of an MoE layer for inference, bitwise the op-by-op module
// (src/models/glm/moe.ts): out[N, H] = sum over slots s = (n, k), expert by expert in the order of
// gate/up/down, of weights[s] * mlp_e(x[n]), then + shared_mlp(x[n]) when shared_inner > 0.
// slot_expert[s] indexes gate/up/down (-1: no expert); gate/up [I, H] and down [H, I] per expert.
struct MoeExpertsParams {
  const float* x;
  int64_t tokens, hidden, inner, k;
  const int32_t* slot_expert;  // [tokens * k]
  const float* weights;        // [tokens * k]
  int64_t experts_used;
  const float* const* gate;
  const float* const* up;
  const float* const* down;
  int64_t shared_inner;  // 0: no shared expert
  const float* shared_gate;
  const float* shared_up;
  const float* shared_down;
  float* out;  // [tokens, hidden], overwritten
};
void moe_experts_forward(const MoeExpertsParams& p);

// ---- optim.cpp ----------------------------------------------------------------------------
// Hyperparameters in double: 1 - beta2 must be formed before rounding (float(0.999) is 1.3e-8 off).
void adamw(float* param, const float* grad, float* m, float* v, int64_t n, double lr, double beta1, double beta2,
           double eps, double weight_decay, int64_t step);

}  // namespace glmkit
