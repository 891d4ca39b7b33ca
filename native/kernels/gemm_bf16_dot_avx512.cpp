// AVX512_BF16 kernels of the bf16-weight GEMM's opt-in "bf16 dot" path (see gemm_bf16.cpp; compiled
// with -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512bf16; call only when cpuid reports
// avx512_bf16). Activations are rounded to bfloat16 before the products (vcvtne2ps2bf16: round to nearest
// even, denormal inputs read as zero), then each output is a chain of vdpbf16ps: 32 bf16 pairs per
// instruction, products summed into 16 float32 lanes. Weights are read as they are stored: no
// widening, half the instructions per weight of the default kernel (gemm_bf16_avx512.cpp).
#include <immintrin.h>

#include "gemm_bf16_avx512_common.h"
#include "gemm_bf16_internal.h"

namespace glmkit {
namespace bf16_detail {
namespace {

inline __m512bh load_bh(const uint16_t* p) { return (__m512bh)_mm512_loadu_si512(p); }
inline __m512bh load_bh(const uint16_t* p, __mmask32 mask) { return (__m512bh)_mm512_maskz_loadu_epi16(mask, p); }

// C[0:M, j:j+R] from M rounded activation rows (a16, stride k) and R rows of W. U accumulators per
// (row, row) pair over alternating 32-element steps of k, so M = 1 still has U * R independent chains.
// No software prefetch: one prefetcht1 per 64-byte line of W (as the default kernel issues) made the
// m = 1 product 1.2-1.3x slower here (x @ W^T, W 512x1408 to 8192x512, minimum of 300 calls each).
template <int M, int R, int U>
inline void dot_block(int64_t k, const uint16_t* a16, const uint16_t* w, float* c, int64_t ldc, float beta) {
  __m512 acc[U][M][R];
  for (int u = 0; u < U; ++u)
    for (int i = 0; i < M; ++i)
      for (int r = 0; r < R; ++r) acc[u][i][r] = _mm512_setzero_ps();
  int64_t l = 0;
  for (; l + 32 * U <= k; l += 32 * U) {
#pragma GCC unroll 4
    for (int u = 0; u < U; ++u) {
      __m512bh wv[R];
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) {
        wv[r] = load_bh(w + r * k + l + 32 * u);
      }
#pragma GCC unroll 8
      for (int i = 0; i < M; ++i) {
        const __m512bh av = load_bh(a16 + i * k + l + 32 * u);
#pragma GCC unroll 4
        for (int r = 0; r < R; ++r) acc[u][i][r] = _mm512_dpbf16_ps(acc[u][i][r], av, wv[r]);
      }
    }
  }
  for (; l < k; l += 32) {  // at most U - 1 full steps and one masked one (zeros past k add nothing)
    const int64_t left = k - l;
    const __mmask32 mask = left >= 32 ? static_cast<__mmask32>(0xFFFFFFFFu) : static_cast<__mmask32>((1u << left) - 1);
    __m512bh wv[R];
    for (int r = 0; r < R; ++r) wv[r] = load_bh(w + r * k + l, mask);
    for (int i = 0; i < M; ++i) {
      const __m512bh av = load_bh(a16 + i * k + l, mask);
      for (int r = 0; r < R; ++r) acc[0][i][r] = _mm512_dpbf16_ps(acc[0][i][r], av, wv[r]);
    }
  }
  store_sums<M, R, U>(acc, c, ldc, beta);
}

// Rows [i0, i0 + M) of C for columns [j0, j1): R rows of W at a time (the R * k weights stay in L1
// while every row block of A passes over them). Decode (M <= 2) reads one row of W at a time, front
// to back, with four chains: a single stream, as the default kernel (gemm_bf16_avx512.cpp).
template <int M>
void rows_m(int64_t k, const uint16_t* a16, const uint16_t* w, float* c, int64_t ldc, int64_t j0, int64_t j1, float beta) {
  constexpr int R = M <= 2 ? 1 : 2, U = M <= 2 ? 4 : 1;
  int64_t j = j0;
  for (; j + R <= j1; j += R) dot_block<M, R, U>(k, a16, w + j * k, c + j, ldc, beta);
  for (; j < j1; ++j) dot_block<M, 1, U>(k, a16, w + j * k, c + j, ldc, beta);
}

}  // namespace

void round_rows_bf16_avx512(int64_t count, const float* src, uint16_t* dst) {
  int64_t i = 0;
  for (; i + 32 <= count; i += 32) {
    const __m512bh h = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(src + i + 16), _mm512_loadu_ps(src + i));
    _mm512_storeu_si512(dst + i, (__m512i)h);
  }
  for (; i < count; i += 16) {
    const int64_t left = count - i;
    const __mmask16 mask = left >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << left) - 1);
    const __m256bh h = _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(mask, src + i));
    _mm256_mask_storeu_epi16(dst + i, mask, (__m256i)h);
  }
}

void dot_bf16_avx512(int64_t m, int64_t k, const uint16_t* a16, const uint16_t* w, float* c, int64_t ldc, int64_t j0,
                     int64_t j1, float beta) {
  // Column blocks outside, row blocks of 8 inside: a block of W rows is read from memory once per call.
  constexpr int64_t kCols = 64;
  for (int64_t jb = j0; jb < j1; jb += kCols) {
    const int64_t je = jb + kCols < j1 ? jb + kCols : j1;
    for (int64_t i = 0; i < m; i += 8) {
      const int rows = static_cast<int>(m - i < 8 ? m - i : 8);
      with_rows(rows, [&](auto r) { rows_m<decltype(r)::value>(k, a16 + i * k, w, c + i * ldc, ldc, jb, je, beta); });
    }
  }
}

}  // namespace bf16_detail
}  // namespace glmkit
