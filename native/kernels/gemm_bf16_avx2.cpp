// AVX2/FMA skinny kernel of the bf16-weight GEMM (see gemm_bf16.cpp; compiled with -mavx2 -mfma).
// Per step of 8 along k it widens 8 bf16 weights of each of R rows of W to float32 in registers
// (zero-extend, shift left 16) and issues R * M FMAs against M rows of A (R = 2 for M <= 4, else 1:
// at most 8 ymm accumulators). The k tail (< 8) is a scalar loop added after the horizontal sums.
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

template <int M, int R>
inline void dot_block(int64_t k, const float* a, int64_t lda, const uint16_t* w, float* c, int64_t ldc, float beta) {
  __m256 acc[M][R];
  for (int i = 0; i < M; ++i)
    for (int r = 0; r < R; ++r) acc[i][r] = _mm256_setzero_ps();
  const int64_t k8 = k / 8 * 8;
  for (int64_t l = 0; l < k8; l += 8) {
    __m256 wv[R];
#pragma GCC unroll 2
    for (int r = 0; r < R; ++r) {
      _mm_prefetch(reinterpret_cast<const char*>(w + r * k + l + 512), _MM_HINT_T1);
      wv[r] = widen(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w + r * k + l)));
    }
#pragma GCC unroll 8
    for (int i = 0; i < M; ++i) {
      const __m256 av = _mm256_loadu_ps(a + i * lda + l);
#pragma GCC unroll 2
      for (int r = 0; r < R; ++r) acc[i][r] = _mm256_fmadd_ps(av, wv[r], acc[i][r]);
    }
  }
  for (int i = 0; i < M; ++i)
    for (int r = 0; r < R; ++r) {
      float s = hsum(acc[i][r]);
      for (int64_t l = k8; l < k; ++l) s += a[i * lda + l] * scalar_bf16(w[r * k + l]);
      float* cij = c + i * ldc + r;
      *cij = beta == 0.0f ? s : s + beta * *cij;
    }
}

template <int M>
void skinny_m(int64_t k, const float* a, int64_t lda, const uint16_t* w, float* c, int64_t ldc, int64_t j0, int64_t j1,
              float beta) {
  constexpr int R = M <= 4 ? 2 : 1;
  int64_t j = j0;
  for (; j + R <= j1; j += R) dot_block<M, R>(k, a, lda, w + j * k, c + j, ldc, beta);
  for (; j < j1; ++j) dot_block<M, 1>(k, a, lda, w + j * k, c + j, ldc, beta);
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
