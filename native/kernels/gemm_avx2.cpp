// AVX2/FMA GEMM micro-kernel and packing (compiled with -mavx2 -mfma; called only when the CPU has
// both, see gemm.cpp). The micro-kernel keeps a 6 x 16 tile of C in 12 ymm accumulators: per step
// of k it loads one 16-wide row of the packed B panel (2 ymm), broadcasts 6 values of the packed A
// panel and issues 12 FMAs. 12 + 2 + 1 = 15 of the 16 ymm registers.
#include <immintrin.h>

#include <cmath>
#include <cstring>
#include <type_traits>

#include "gemm_internal.h"

namespace glmkit {
namespace gemm_detail {
namespace {

constexpr int MR = 6;
constexpr int NR = 16;

// Writes one 16-wide row of the tile: c[0:16] = alpha*lo|hi + beta*c (beta == 0: no read).
inline void store_row(float* c, __m256 lo, __m256 hi, __m256 valpha, float beta) {
  lo = _mm256_mul_ps(lo, valpha);
  hi = _mm256_mul_ps(hi, valpha);
  if (beta == 0.0f) {
  } else if (beta == 1.0f) {
    lo = _mm256_add_ps(lo, _mm256_loadu_ps(c));
    hi = _mm256_add_ps(hi, _mm256_loadu_ps(c + 8));
  } else {
    const __m256 vbeta = _mm256_set1_ps(beta);
    lo = _mm256_fmadd_ps(vbeta, _mm256_loadu_ps(c), lo);
    hi = _mm256_fmadd_ps(vbeta, _mm256_loadu_ps(c + 8), hi);
  }
  _mm256_storeu_ps(c, lo);
  _mm256_storeu_ps(c + 8, hi);
}

// C[6x16] tile (see MicroKernel in gemm_internal.h).
void kernel_6x16(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int mr, int nr, float alpha,
                 float beta) {
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
  __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
  __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
  __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
  __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
  const bool full = mr == MR && nr == NR;
  if (full) {
    for (int r = 0; r < MR; ++r) _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc), _MM_HINT_T0);
  }
#pragma GCC unroll 4
  for (int64_t l = 0; l < kc; ++l) {
    const __m256 b0 = _mm256_load_ps(b);
    const __m256 b1 = _mm256_load_ps(b + 8);
    __m256 av = _mm256_broadcast_ss(a + 0);
    c00 = _mm256_fmadd_ps(av, b0, c00);
    c01 = _mm256_fmadd_ps(av, b1, c01);
    av = _mm256_broadcast_ss(a + 1);
    c10 = _mm256_fmadd_ps(av, b0, c10);
    c11 = _mm256_fmadd_ps(av, b1, c11);
    av = _mm256_broadcast_ss(a + 2);
    c20 = _mm256_fmadd_ps(av, b0, c20);
    c21 = _mm256_fmadd_ps(av, b1, c21);
    av = _mm256_broadcast_ss(a + 3);
    c30 = _mm256_fmadd_ps(av, b0, c30);
    c31 = _mm256_fmadd_ps(av, b1, c31);
    av = _mm256_broadcast_ss(a + 4);
    c40 = _mm256_fmadd_ps(av, b0, c40);
    c41 = _mm256_fmadd_ps(av, b1, c41);
    av = _mm256_broadcast_ss(a + 5);
    c50 = _mm256_fmadd_ps(av, b0, c50);
    c51 = _mm256_fmadd_ps(av, b1, c51);
    a += MR;
    b += NR;
  }
  const __m256 valpha = _mm256_set1_ps(alpha);
  if (full) {
    store_row(c + 0 * ldc, c00, c01, valpha, beta);
    store_row(c + 1 * ldc, c10, c11, valpha, beta);
    store_row(c + 2 * ldc, c20, c21, valpha, beta);
    store_row(c + 3 * ldc, c30, c31, valpha, beta);
    store_row(c + 4 * ldc, c40, c41, valpha, beta);
    store_row(c + 5 * ldc, c50, c51, valpha, beta);
    return;
  }
  // Edge tile: compute the whole tile into a buffer, then update only the valid corner.
  alignas(32) float t[MR * NR];
  store_row(t + 0 * NR, c00, c01, valpha, 0.0f);
  store_row(t + 1 * NR, c10, c11, valpha, 0.0f);
  store_row(t + 2 * NR, c20, c21, valpha, 0.0f);
  store_row(t + 3 * NR, c30, c31, valpha, 0.0f);
  store_row(t + 4 * NR, c40, c41, valpha, 0.0f);
  store_row(t + 5 * NR, c50, c51, valpha, 0.0f);
  for (int r = 0; r < mr; ++r) {
    float* cr = c + r * ldc;
    const float* tr = t + r * NR;
    if (beta == 0.0f) {
      for (int j = 0; j < nr; ++j) cr[j] = tr[j];
    } else if (beta == 1.0f) {
      for (int j = 0; j < nr; ++j) cr[j] = tr[j] + cr[j];
    } else {
      for (int j = 0; j < nr; ++j) cr[j] = tr[j] + beta * cr[j];
    }
  }
}

// In-register transpose of an 8 x 8 block held in r0..r7 (rows in, columns out).
inline void transpose8(__m256& r0, __m256& r1, __m256& r2, __m256& r3, __m256& r4, __m256& r5, __m256& r6,
                       __m256& r7) {
  const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
  const __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
  const __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
  const __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
  const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  r0 = _mm256_permute2f128_ps(u0, u4, 0x20);
  r1 = _mm256_permute2f128_ps(u1, u5, 0x20);
  r2 = _mm256_permute2f128_ps(u2, u6, 0x20);
  r3 = _mm256_permute2f128_ps(u3, u7, 0x20);
  r4 = _mm256_permute2f128_ps(u0, u4, 0x31);
  r5 = _mm256_permute2f128_ps(u1, u5, 0x31);
  r6 = _mm256_permute2f128_ps(u2, u6, 0x31);
  r7 = _mm256_permute2f128_ps(u3, u7, 0x31);
}

// Packs one panel of MR rows (rows past `rows` are zero). See PackA.
void pack_a_panel(const float* a, int64_t rs, int64_t cs, int rows, int64_t kc, float* out) {
  if (rows == MR && cs == 1) {
    // Rows are contiguous in l: transpose 8-wide chunks of the 6 rows (2 dummy rows).
    int64_t l = 0;
    for (; l + 8 <= kc; l += 8) {
      __m256 r0 = _mm256_loadu_ps(a + 0 * rs + l), r1 = _mm256_loadu_ps(a + 1 * rs + l);
      __m256 r2 = _mm256_loadu_ps(a + 2 * rs + l), r3 = _mm256_loadu_ps(a + 3 * rs + l);
      __m256 r4 = _mm256_loadu_ps(a + 4 * rs + l), r5 = _mm256_loadu_ps(a + 5 * rs + l);
      __m256 r6 = _mm256_setzero_ps(), r7 = _mm256_setzero_ps();
      transpose8(r0, r1, r2, r3, r4, r5, r6, r7);
      // Column x of the chunk goes to out[(l+x)*6 .. +6]; the 8-wide stores spill 2 floats into
      // the next column's slot, which the next store overwrites (the buffer has slack at the end).
      float* o = out + l * MR;
      _mm256_storeu_ps(o + 0 * MR, r0);
      _mm256_storeu_ps(o + 1 * MR, r1);
      _mm256_storeu_ps(o + 2 * MR, r2);
      _mm256_storeu_ps(o + 3 * MR, r3);
      _mm256_storeu_ps(o + 4 * MR, r4);
      _mm256_storeu_ps(o + 5 * MR, r5);
      _mm256_storeu_ps(o + 6 * MR, r6);
      // Last column: store exactly 6 floats so nothing past this chunk is touched.
      alignas(32) float tmp[8];
      _mm256_store_ps(tmp, r7);
      std::memcpy(o + 7 * MR, tmp, MR * sizeof(float));
    }
    for (; l < kc; ++l)
      for (int r = 0; r < MR; ++r) out[l * MR + r] = a[r * rs + l];
    return;
  }
  for (int64_t l = 0; l < kc; ++l) {
    const float* al = a + l * cs;
    float* o = out + l * MR;
    int r = 0;
    for (; r < rows; ++r) o[r] = al[r * rs];
    for (; r < MR; ++r) o[r] = 0.0f;
  }
}

void pack_a(const float* a, int64_t rs, int64_t cs, int64_t mc, int64_t kc, float* out) {
  for (int64_t i = 0; i < mc; i += MR) {
    const int rows = static_cast<int>(mc - i < MR ? mc - i : MR);
    pack_a_panel(a + i * rs, rs, cs, rows, kc, out + i * kc);
  }
}

// Packs one panel of NR columns (columns past `cols` are zero). See PackB.
void pack_b_panel(const float* b, int64_t rs, int64_t cs, int cols, int64_t kc, float* out) {
  if (cols == NR && cs == 1) {
    for (int64_t l = 0; l < kc; ++l) {
      _mm256_store_ps(out + l * NR, _mm256_loadu_ps(b + l * rs));
      _mm256_store_ps(out + l * NR + 8, _mm256_loadu_ps(b + l * rs + 8));
    }
    return;
  }
  if (cols == NR && rs == 1) {
    // B stored transposed: column j is contiguous in l. Transpose 8 x 8 blocks.
    int64_t l = 0;
    for (; l + 8 <= kc; l += 8) {
      for (int h = 0; h < 2; ++h) {
        const float* bj = b + (h * 8) * cs + l;
        __m256 r0 = _mm256_loadu_ps(bj + 0 * cs), r1 = _mm256_loadu_ps(bj + 1 * cs);
        __m256 r2 = _mm256_loadu_ps(bj + 2 * cs), r3 = _mm256_loadu_ps(bj + 3 * cs);
        __m256 r4 = _mm256_loadu_ps(bj + 4 * cs), r5 = _mm256_loadu_ps(bj + 5 * cs);
        __m256 r6 = _mm256_loadu_ps(bj + 6 * cs), r7 = _mm256_loadu_ps(bj + 7 * cs);
        transpose8(r0, r1, r2, r3, r4, r5, r6, r7);
        float* o = out + l * NR + h * 8;
        _mm256_store_ps(o + 0 * NR, r0);
        _mm256_store_ps(o + 1 * NR, r1);
        _mm256_store_ps(o + 2 * NR, r2);
        _mm256_store_ps(o + 3 * NR, r3);
        _mm256_store_ps(o + 4 * NR, r4);
        _mm256_store_ps(o + 5 * NR, r5);
        _mm256_store_ps(o + 6 * NR, r6);
        _mm256_store_ps(o + 7 * NR, r7);
      }
    }
    for (; l < kc; ++l)
      for (int j = 0; j < NR; ++j) out[l * NR + j] = b[j * cs + l];
    return;
  }
  for (int64_t l = 0; l < kc; ++l) {
    const float* bl = b + l * rs;
    float* o = out + l * NR;
    int j = 0;
    for (; j < cols; ++j) o[j] = bl[j * cs];
    for (; j < NR; ++j) o[j] = 0.0f;
  }
}

void pack_b(const float* b, int64_t rs, int64_t cs, int64_t kc, int64_t nc, float* out) {
  for (int64_t j = 0; j < nc; j += NR) {
    const int cols = static_cast<int>(nc - j < NR ? nc - j : NR);
    pack_b_panel(b + j * cs, rs, cs, cols, kc, out + j * kc);
  }
}

// ---- skinny products (m <= 4): matrix-vector style, B streamed once, no packing -------------

inline float hsum(__m256 v) {
  __m128 x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  x = _mm_add_ps(x, _mm_movehl_ps(x, x));
  x = _mm_add_ss(x, _mm_movehdup_ps(x));
  return _mm_cvtss_f32(x);
}

inline float finish(float acc, float alpha, float beta, const float* c) {
  return beta == 0.0f ? alpha * acc : alpha * acc + beta * *c;
}

// B rows contiguous over j (csb == 1): C[i, chunk] = sum_l A[i, l] * B[l, chunk], over chunks of
// 256 columns whose accumulators stay in L1 while the rows of B stream through contiguously.
template <int M>
void skinny_rows(int64_t k, const float* a, int64_t lda, const float* b, int64_t rsb, float* c, int64_t ldc,
                 int64_t j0, int64_t j1, float alpha, float beta) {
  constexpr int64_t JB = 256;
  alignas(32) float acc[M][JB];
  for (int64_t jc = j0; jc < j1; jc += JB) {
    const int64_t w = j1 - jc < JB ? j1 - jc : JB;
    const int64_t w8 = w / 8 * 8;
    for (int i = 0; i < M; ++i)
      for (int64_t x = 0; x < w; ++x) acc[i][x] = 0.0f;
    for (int64_t l = 0; l < k; ++l) {
      const float* bl = b + l * rsb + jc;
      __m256 av[M];
#pragma GCC unroll 4
      for (int i = 0; i < M; ++i) av[i] = _mm256_broadcast_ss(a + i * lda + l);
      for (int64_t x = 0; x < w8; x += 8) {
        const __m256 bv = _mm256_loadu_ps(bl + x);
#pragma GCC unroll 4
        for (int i = 0; i < M; ++i) _mm256_store_ps(&acc[i][x], _mm256_fmadd_ps(av[i], bv, _mm256_load_ps(&acc[i][x])));
      }
      for (int64_t x = w8; x < w; ++x)
        for (int i = 0; i < M; ++i) acc[i][x] = std::fma(a[i * lda + l], bl[x], acc[i][x]);
    }
    for (int i = 0; i < M; ++i) {
      float* ci = c + i * ldc + jc;
      for (int64_t x = 0; x < w; ++x) ci[x] = finish(acc[i][x], alpha, beta, ci + x);
    }
  }
}

// B columns contiguous over l (rsb == 1): dot products, several columns x M rows at a time; every
// output is one 8-lane accumulation over l, a horizontal sum and a scalar tail, in that order.
template <int M>
void skinny_cols(int64_t k, const float* a, int64_t lda, const float* b, int64_t csb, float* c, int64_t ldc,
                 int64_t j0, int64_t j1, float alpha, float beta) {
  const int64_t k8 = k / 8 * 8;
  auto columns = [&](int64_t j, auto ncols_tag) {
    constexpr int NC = decltype(ncols_tag)::value;
    __m256 acc[M][NC];
    for (int i = 0; i < M; ++i)
      for (int x = 0; x < NC; ++x) acc[i][x] = _mm256_setzero_ps();
    for (int64_t l = 0; l < k8; l += 8) {
      __m256 bv[NC];
#pragma GCC unroll 4
      for (int x = 0; x < NC; ++x) bv[x] = _mm256_loadu_ps(b + (j + x) * csb + l);
#pragma GCC unroll 4
      for (int i = 0; i < M; ++i) {
        const __m256 av = _mm256_loadu_ps(a + i * lda + l);
#pragma GCC unroll 4
        for (int x = 0; x < NC; ++x) acc[i][x] = _mm256_fmadd_ps(av, bv[x], acc[i][x]);
      }
    }
    for (int i = 0; i < M; ++i) {
      for (int x = 0; x < NC; ++x) {
        float s = hsum(acc[i][x]);
        for (int64_t l = k8; l < k; ++l) s = std::fma(a[i * lda + l], b[(j + x) * csb + l], s);
        float* cij = c + i * ldc + j + x;
        *cij = finish(s, alpha, beta, cij);
      }
    }
  };
  // Enough columns at once for 6-8 independent FMA chains (FMA latency 4, 2 per cycle).
  constexpr int NC = M <= 2 ? 4 : 2;
  int64_t j = j0;
  for (; j + NC <= j1; j += NC) columns(j, std::integral_constant<int, NC>{});
  for (; j < j1; ++j) columns(j, std::integral_constant<int, 1>{});
}

template <int M>
void skinny_m(int64_t k, const float* a, int64_t lda, const float* b, int64_t rsb, int64_t csb, float* c,
              int64_t ldc, int64_t j0, int64_t j1, float alpha, float beta) {
  if (rsb == 1) {
    skinny_cols<M>(k, a, lda, b, csb, c, ldc, j0, j1, alpha, beta);
  } else {
    skinny_rows<M>(k, a, lda, b, rsb, c, ldc, j0, j1, alpha, beta);
  }
}

void skinny(int m, int64_t k, const float* a, int64_t lda, const float* b, int64_t rsb, int64_t csb, float* c,
            int64_t ldc, int64_t j0, int64_t j1, float alpha, float beta) {
  switch (m) {
    case 1: return skinny_m<1>(k, a, lda, b, rsb, csb, c, ldc, j0, j1, alpha, beta);
    case 2: return skinny_m<2>(k, a, lda, b, rsb, csb, c, ldc, j0, j1, alpha, beta);
    case 3: return skinny_m<3>(k, a, lda, b, rsb, csb, c, ldc, j0, j1, alpha, beta);
    default: return skinny_m<4>(k, a, lda, b, rsb, csb, c, ldc, j0, j1, alpha, beta);
  }
}

}  // namespace

const GemmKernel& avx2_gemm_kernel() {
  // KC x NR of B (16 KiB) stays in L1, MC x KC of A (264 KiB) in L2, KC x NC of B in L3.
  static const GemmKernel k{"avx2+fma", MR, NR, 256, 264, 3072, kernel_6x16, pack_a, pack_b, skinny};
  return k;
}

}  // namespace gemm_detail
}  // namespace glmkit
