// AVX2/FMA skinny kernel of the bf16-weight GEMM (see gemm_bf16.cpp; compiled with -mavx2 -mfma).
// One row of W at a time, front to back, no software prefetch (why: gemm_bf16_avx512.cpp). Per step
// of 8 along k it widens 8 bf16 weights to float32 in registers (zero-extend, shift left 16) and
// issues M FMAs against M rows of A, into U accumulators per row of A over alternating 8-blocks.
// The k tail (< 8) is a scalar loop added after the horizontal sums.
#include <immintrin.h>

#include <cstring>

#include "gemm_bf16_internal.h"

namespace glmkit {
namespace bf16_detail {
namespace {

inline __m256 widen(__m128i h) { return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16)); }

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

inline float scalar_bf16(uint16_t h) {
  const uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

// C[0:M, j] = A[0:M, :] . W[j, :] (+ beta * C) for one row w of W, U accumulators per row of A
// over alternating 8-blocks of k.
template <int M, int U>
inline void dot_row(int64_t k, const float* a, int64_t lda, const uint16_t* w, float* c, int64_t ldc, float beta) {
  __m256 acc[U][M];
  for (int u = 0; u < U; ++u)
    for (int i = 0; i < M; ++i) acc[u][i] = _mm256_setzero_ps();
  int64_t l = 0;
  for (; l + 8 * U <= k; l += 8 * U) {
#pragma GCC unroll 4
    for (int u = 0; u < U; ++u) {
      const __m256 wv = widen(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w + l + 8 * u)));
#pragma GCC unroll 8
      for (int i = 0; i < M; ++i) acc[u][i] = _mm256_fmadd_ps(_mm256_loadu_ps(a + i * lda + l + 8 * u), wv, acc[u][i]);
    }
  }
  for (; l + 8 <= k; l += 8) {  // at most U - 1 full steps, into the first accumulators
    const __m256 wv = widen(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w + l)));
    for (int i = 0; i < M; ++i) acc[0][i] = _mm256_fmadd_ps(_mm256_loadu_ps(a + i * lda + l), wv, acc[0][i]);
  }
  for (int i = 0; i < M; ++i) {
    __m256 sum = acc[0][i];
    for (int u = 1; u < U; ++u) sum = _mm256_add_ps(sum, acc[u][i]);
    float s = hsum(sum);
    for (int64_t t = l; t < k; ++t) s += a[i * lda + t] * scalar_bf16(w[t]);
    float* cij = c + i * ldc;
    *cij = beta == 0.0f ? s : s + beta * *cij;
  }
}

template <int M>
void skinny_m(int64_t k, const float* a, int64_t lda, const uint16_t* w, float* c, int64_t ldc, int64_t j0, int64_t j1,
              float beta) {
  // at most 8 ymm accumulators: four chains for one row of A, two for up to four, one beyond
  constexpr int U = M == 1 ? 4 : M <= 4 ? 2 : 1;
  for (int64_t j = j0; j < j1; ++j) dot_row<M, U>(k, a, lda, w + j * k, c + j, ldc, beta);
}

}  // namespace

void skinny_bf16_avx2(int m, int64_t k, const float* a, int64_t lda, const uint16_t* w, float* c, int64_t ldc,
                      int64_t j0, int64_t j1, float beta) {
  switch (m) {
    case 1: return skinny_m<1>(k, a, lda, w, c, ldc, j0, j1, beta);
    case 2: return skinny_m<2>(k, a, lda, w, c, ldc, j0, j1, beta);
    case 3: return skinny_m<3>(k, a, lda, w, c, ldc, j0, j1, beta);
    case 4: return skinny_m<4>(k, a, lda, w, c, ldc, j0, j1, beta);
    case 5: return skinny_m<5>(k, a, lda, w, c, ldc, j0, j1, beta);
    case 6: return skinny_m<6>(k, a, lda, w, c, ldc, j0, j1, beta);
    case 7: return skinny_m<7>(k, a, lda, w, c, ldc, j0, j1, beta);
    default: return skinny_m<8>(k, a, lda, w, c, ldc, j0, j1, beta);
  }
}

}  // namespace bf16_detail
}  // namespace glmkit
