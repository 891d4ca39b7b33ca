// Helpers shared by the two AVX-512 files of the bf16-weight GEMM (gemm_bf16_avx512.cpp and
// gemm_bf16_dot_avx512.cpp). Include only from files compiled with -mavx512f/bw/vl/dq; everything
// here sits in an anonymous namespace, so each file keeps its own copy, built with its own flags
// (no inline function is merged across files compiled for different instruction sets).
#pragma once
#include <immintrin.h>

#include <cstdint>
#include <type_traits>

// GCC 12's AVX-512 headers build "undefined" vectors as self-initialised locals, which its own
// uninitialised-use analysis then reports inside every inlined intrinsic: silence that noise here.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

namespace glmkit {
namespace bf16_detail {
namespace {

// The sum of the 16 lanes (a fixed order: halves, then quarters, then pairs).
inline float hsum(__m512 v) {
  const __m256 h = _mm256_add_ps(_mm512_extractf32x8_ps(v, 0), _mm512_extractf32x8_ps(v, 1));
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// c[i*ldc + r] = sum of acc[0..U)[i][r] over lanes (+ beta * c[i*ldc + r] when beta != 0): the end of a
// block of M x R dot products kept in U accumulators each.
template <int M, int R, int U>
inline void store_sums(const __m512 (&acc)[U][M][R], float* c, int64_t ldc, float beta) {
  for (int i = 0; i < M; ++i)
    for (int r = 0; r < R; ++r) {
      __m512 sum = acc[0][i][r];
      for (int u = 1; u < U; ++u) sum = _mm512_add_ps(sum, acc[u][i][r]);
      float* cij = c + i * ldc + r;
      const float s = hsum(sum);
      *cij = beta == 0.0f ? s : s + beta * *cij;
    }
}

// f(std::integral_constant<int, M>{}) with M = m for 1 <= m <= 8 (8 for anything larger): a row
// count known at run time handed to kernels that take it as a template argument.
template <class F>
inline void with_rows(int m, F&& f) {
  switch (m) {
    case 1: return f(std::integral_constant<int, 1>{});
    case 2: return f(std::integral_constant<int, 2>{});
    case 3: return f(std::integral_constant<int, 3>{});
    case 4: return f(std::integral_constant<int, 4>{});
    case 5: return f(std::integral_constant<int, 5>{});
    case 6: return f(std::integral_constant<int, 6>{});
    case 7: return f(std::integral_constant<int, 7>{});
    default: return f(std::integral_constant<int, 8>{});
  }
}

}  // namespace
}  // namespace bf16_detail
}  // namespace glmkit
