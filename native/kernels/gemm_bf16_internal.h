// Internal interface of the bf16-weight GEMM (gemm_bf16.cpp) and its ISA-specific skinny kernels.
// Declarations only: nothing here may be inlined into a translation unit compiled with other ISA flags.
#pragma once
#include <cstdint>

namespace glmkit {
namespace bf16_detail {

// c[i*ldc + j] = sum_l a[i*lda + l] * f32(w[j*k + l]) (+ beta * c when beta != 0), for i < m <= 8 and
// j in [j0, j1): the decode-time product x @ W^T with W [n, k] stored as bfloat16. Every output is a
// function of its row of a and row of w only (threads split j), so results do not depend on threads.
using SkinnyBf16 = void (*)(int m, int64_t k, const float* a, int64_t lda, const uint16_t* w, float* c, int64_t ldc,
                            int64_t j0, int64_t j1, float beta);

void skinny_bf16_portable(int m, int64_t k, const float* a, int64_t lda, const uint16_t* w, float* c, int64_t ldc,
                          int64_t j0, int64_t j1, float beta);
// gemm_bf16_avx2.cpp: call only when the CPU has avx2 and fma.
void skinny_bf16_avx2(int m, int64_t k, const float* a, int64_t lda, const uint16_t* w, float* c, int64_t ldc,
                      int64_t j0, int64_t j1, float beta);
// gemm_bf16_avx512.cpp: call only when the CPU has avx512f/bw/vl/dq.
void skinny_bf16_avx512(int m, int64_t k, const float* a, int64_t lda, const uint16_t* w, float* c, int64_t ldc,
                        int64_t j0, int64_t j1, float beta);

// gemm_bf16_dot_avx512.cpp (call only when the CPU has avx512f/bw/vl/dq and avx512_bf16): the opt-in
// bf16-dot path. round_rows_bf16_avx512 rounds count floats to bf16 bits (nearest even, denormals to
// zero, as vcvtne2ps2bf16); dot_bf16_avx512 sets c[i*ldc + j] = sum_l a16[i*k + l] * w[j*k + l]
// (+ beta * c) for i < m (any m) and j in [j0, j1) with vdpbf16ps, float32 accumulators.
void round_rows_bf16_avx512(int64_t count, const float* src, uint16_t* dst);
void dot_bf16_avx512(int64_t m, int64_t k, const uint16_t* a16, const uint16_t* w, float* c, int64_t ldc, int64_t j0,
                     int64_t j1, float beta);

}  // namespace bf16_detail
}  // namespace glmkit
