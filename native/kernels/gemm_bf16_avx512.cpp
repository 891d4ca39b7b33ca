// AVX-512 skinny kernel of the bf16-weight GEMM (see gemm_bf16.cpp; compiled with -mavx512f
// -mavx512bw -mavx512vl -mavx512dq). One row of W at a time, read front to back: per step of 16
// along k it loads 16 bf16 weights (one ymm), widens them to float32 in registers (zero-extend to 32
// bits, shift left 16) and issues M FMAs against M rows of A. U accumulators per row of A take
// alternating 16-blocks of k (U = 4 for M = 1, else 2) and are added at the end, so M = 1 still has
// four independent FMA chains. The k tail is whole 16-blocks into the first accumulator and one
// masked step, so no scalar loop remains.
//
// Why one row at a time and no software prefetch: decode (M = 1) is bound by how fast W streams in.
// Reading four rows side by side (four streams 2*k bytes apart) with a prefetcht1 per line reached
// 10-13 GB/s on the `small` preset's 53.5 MB of matrices, one thread, AMD EPYC (AVX-512), while a
// single front-to-back stream reaches 27-29 GB/s there, and prefetches added to it halve that
// (2026-12-07; figures and the bench kernels `decode_gemv` rows in docs/performance.md "One stream
// per weight row").
#include <immintrin.h>

#include "gemm_bf16_avx512_common.h"
#include "gemm_bf16_internal.h"

namespace glmkit {
namespace bf16_detail {
namespace {

inline __m512 widen(__m256i h) { return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16)); }

// C[0:M, j] = A[0:M, :] . W[j, :] (+ beta * C) for one row w of W.
template <int M, int U>
inline void dot_row(int64_t k, const float* a, int64_t lda, const uint16_t* w, float* c, int64_t ldc, float beta) {
  __m512 acc[U][M][1];
  for (int u = 0; u < U; ++u)
    for (int i = 0; i < M; ++i) acc[u][i][0] = _mm512_setzero_ps();
  int64_t l = 0;
  for (; l + 16 * U <= k; l += 16 * U) {
#pragma GCC unroll 4
    for (int u = 0; u < U; ++u) {
      const __m512 wv = widen(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + l + 16 * u)));
#pragma GCC unroll 8
      for (int i = 0; i < M; ++i) acc[u][i][0] = _mm512_fmadd_ps(_mm512_loadu_ps(a + i * lda + l + 16 * u), wv, acc[u][i][0]);
    }
  }
  for (; l < k; l += 16) {  // at most U - 1 full steps and one masked one, into the first accumulators
    const __mmask16 mask = k - l >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << (k - l)) - 1);
    const __m512 wv = widen(_mm256_maskz_loadu_epi16(mask, w + l));
    for (int i = 0; i < M; ++i) acc[0][i][0] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask, a + i * lda + l), wv, acc[0][i][0]);
  }
  store_sums<M, 1, U>(acc, c, ldc, beta);
}

template <int M>
void skinny_m(int64_t k, const float* a, int64_t lda, const uint16_t* w, float* c, int64_t ldc, int64_t j0, int64_t j1,
              float beta) {
  constexpr int U = M == 1 ? 4 : 2;
  for (int64_t j = j0; j < j1; ++j) dot_row<M, U>(k, a, lda, w + j * k, c + j, ldc, beta);
}

}  // namespace

void skinny_bf16_avx512(int m, int64_t k, const float* a, int64_t lda, const uint16_t* w, float* c, int64_t ldc,
                        int64_t j0, int64_t j1, float beta) {
  with_rows(m, [&](auto rows) { skinny_m<decltype(rows)::value>(k, a, lda, w, c, ldc, j0, j1, beta); });
}

}  // namespace bf16_detail
}  // namespace glmkit
