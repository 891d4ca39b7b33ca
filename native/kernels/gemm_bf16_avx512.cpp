// AVX-512 skinny kernel of the bf16-weight GEMM (see gemm_bf16.cpp; compiled with -mavx512f
// -mavx512bw -mavx512vl -mavx512dq). Per step of 16 along k it loads 16 bf16 weights of each of R
// rows of W (one ymm each), widens them to float32 in registers (zero-extend to 32 bits, shift
// left 16) and issues R * M FMAs against M rows of A (R = 4 and two steps in flight for M <= 2,
// R = 2 otherwise: at most 16 zmm accumulators). The k tail is a masked step, so no scalar loop remains.
#include <immintrin.h>

#include "gemm_bf16_avx512_common.h"
#include "gemm_bf16_internal.h"

namespace glmkit {
namespace bf16_detail {
namespace {

inline __m512 widen(__m256i h) { return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16)); }

// C[0:M, j:j+R] for R consecutive rows of W. With U = 2 each (row of A, row of W) pair keeps two
// accumulators (even and odd 16-blocks of k, added at the end), so a small M still has 2 * M * R
// independent FMA chains: with one chain per pair, M = 1 waited on the FMA latency and read bf16
// weights at under half the rate of the f32 kernel.
template <int M, int R, int U>
inline void dot_block(int64_t k, const float* a, int64_t lda, const uint16_t* w, float* c, int64_t ldc, float beta) {
  __m512 acc[U][M][R];
  for (int u = 0; u < U; ++u)
    for (int i = 0; i < M; ++i)
      for (int r = 0; r < R; ++r) acc[u][i][r] = _mm512_setzero_ps();
  int64_t l = 0;
  for (; l + 16 * U <= k; l += 16 * U) {
#pragma GCC unroll 2
    for (int u = 0; u < U; ++u) {
      __m512 wv[R];
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) {
        if (u == 0) _mm_prefetch(reinterpret_cast<const char*>(w + r * k + l + 512), _MM_HINT_T1);
        wv[r] = widen(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + r * k + l + 16 * u)));
      }
#pragma GCC unroll 8
      for (int i = 0; i < M; ++i) {
        const __m512 av = _mm512_loadu_ps(a + i * lda + l + 16 * u);
#pragma GCC unroll 4
        for (int r = 0; r < R; ++r) acc[u][i][r] = _mm512_fmadd_ps(av, wv[r], acc[u][i][r]);
      }
    }
  }
  for (; l < k; l += 16) {  // at most U - 1 full steps and one masked one, into the first accumulators
    const __mmask16 mask = k - l >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << (k - l)) - 1);
    __m512 wv[R];
    for (int r = 0; r < R; ++r) wv[r] = widen(_mm256_maskz_loadu_epi16(mask, w + r * k + l));
    for (int i = 0; i < M; ++i) {
      const __m512 av = _mm512_maskz_loadu_ps(mask, a + i * lda + l);
      for (int r = 0; r < R; ++r) acc[0][i][r] = _mm512_fmadd_ps(av, wv[r], acc[0][i][r]);
    }
  }
  store_sums<M, R, U>(acc, c, ldc, beta);
}

template <int M>
void skinny_m(int64_t k, const float* a, int64_t lda, const uint16_t* w, float* c, int64_t ldc, int64_t j0, int64_t j1,
              float beta) {
  // M <= 2: 4 rows of W at a time and two accumulators per pair (8 or 16 chains); else 2 rows, one each.
  constexpr int R = M <= 2 ? 4 : 2, U = M <= 2 ? 2 : 1;
  int64_t j = j0;
  for (; j + R <= j1; j += R) dot_block<M, R, U>(k, a, lda, w + j * k, c + j, ldc, beta);
  for (; j < j1; ++j) dot_block<M, 1, U>(k, a, lda, w + j * k, c + j, ldc, beta);
}

}  // namespace

void skinny_bf16_avx512(int m, int64_t k, const float* a, int64_t lda, const uint16_t* w, float* c, int64_t ldc,
                        int64_t j0, int64_t j1, float beta) {
  with_rows(m, [&](auto rows) { skinny_m<decltype(rows)::value>(k, a, lda, w, c, ldc, j0, j1, beta); });
}

}  // namespace bf16_detail
}  // namespace glmkit
