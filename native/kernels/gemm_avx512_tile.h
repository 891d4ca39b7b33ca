// The C-tile store shared by the AVX-512 GEMM micro-kernels (gemm_avx512.cpp, float32, and
// gemm_mixed_avx512.cpp, bf16 compute): a 12 x 32 tile of accumulators, two zmm per row, written as
// alpha * acc + beta * C. Include only from files compiled with -mavx512f/bw/vl/dq; everything here
// sits in an anonymous namespace, so each file keeps its own copy built with its own flags (no inline
// function is merged across files compiled for different instruction sets).
#pragma once
#include <immintrin.h>

#include <cstdint>

namespace glmkit {
namespace gemm_detail {
namespace {

constexpr int kTileRows = 12;
constexpr int kTileCols = 32;

// c[0:32] = alpha * (lo|hi) + beta * c (beta == 0: c is not read).
inline void store_tile_row(float* c, __m512 lo, __m512 hi, __m512 valpha, float beta) {
  lo = _mm512_mul_ps(lo, valpha);
  hi = _mm512_mul_ps(hi, valpha);
  if (beta == 1.0f) {
    lo = _mm512_add_ps(lo, _mm512_loadu_ps(c));
    hi = _mm512_add_ps(hi, _mm512_loadu_ps(c + 16));
  } else if (beta != 0.0f) {
    const __m512 vbeta = _mm512_set1_ps(beta);
    lo = _mm512_fmadd_ps(vbeta, _mm512_loadu_ps(c), lo);
    hi = _mm512_fmadd_ps(vbeta, _mm512_loadu_ps(c + 16), hi);
  }
  _mm512_storeu_ps(c, lo);
  _mm512_storeu_ps(c + 16, hi);
}

// C[0:mr, 0:nr] (row stride ldc) = alpha * acc + beta * C for a full or edge tile: a full tile is
// stored row by row; an edge tile goes through a buffer, then only its valid corner into C.
inline void store_tile(const __m512 (&acc)[kTileRows][2], float* c, int64_t ldc, int mr, int nr, float alpha, float beta) {
  const __m512 valpha = _mm512_set1_ps(alpha);
  if (mr == kTileRows && nr == kTileCols) {
    for (int r = 0; r < kTileRows; ++r) store_tile_row(c + r * ldc, acc[r][0], acc[r][1], valpha, beta);
    return;
  }
  alignas(64) float t[kTileRows * kTileCols];
  for (int r = 0; r < kTileRows; ++r) store_tile_row(t + r * kTileCols, acc[r][0], acc[r][1], valpha, 0.0f);
  for (int r = 0; r < mr; ++r) {
    float* cr = c + r * ldc;
    const float* tr = t + r * kTileCols;
    if (beta == 0.0f) {
      for (int j = 0; j < nr; ++j) cr[j] = tr[j];
    } else if (beta == 1.0f) {
      for (int j = 0; j < nr; ++j) cr[j] = tr[j] + cr[j];
    } else {
      for (int j = 0; j < nr; ++j) cr[j] = tr[j] + beta * cr[j];
    }
  }
}

}  // namespace
}  // namespace gemm_detail
}  // namespace glmkit
