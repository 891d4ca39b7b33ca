// AVX2/FMA GEMM micro-kernel and packing (compiled with -mavx2 -mfma; called only when the CPU has
// both, see gemm.cpp). The micro-kernel keeps a 6 x 16 tile of C in 12 ymm accumulators: per step
// of k it loads one 16-wide row of the packed B panel (2 ymm), broadcasts 6 values of the packed A
// panel and issues 12 FMAs. 12 + 2 + 1 = 15 of the 16 ymm registers.
// Products with m <= 8 rows (batch-1..8 decode) skip packing and use the streaming kernels at
// the end of this file: dot products over rows of W for B = W^T, register-blocked AXPYs otherwise.
#include <immintrin.h>

#include <algorithm>
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

// ---- skinny products (m <= 8): matrix-vector style, B streamed once, no packing -------------
// These are memory-bound (decode: x[1..8, K] @ W[N, K]^T), so the kernels aim to read every byte
// of B exactly once, in long sequential runs, with software prefetch ahead of the loads. Every
// output is computed by the same sequence of operations wherever it falls in a block or in a
// thread's share of the columns (edges use masked loads, not a different scalar path), so the
// results do not depend on the thread count.

inline float hsum(__m256 v) {
  __m128 x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  x = _mm_add_ps(x, _mm_movehl_ps(x, x));
  x = _mm_add_ss(x, _mm_movehdup_ps(x));
  return _mm_cvtss_f32(x);
}

// Lane mask with the first `count` (0..8) lanes set.
inline __m256i lane_mask(int64_t count) {
  alignas(32) static const int32_t table[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(table + 8 - count));
}

// Rows of W (columns of B) handled together for M rows of A: M * R accumulators fit in 12 ymm
// with R loads of W and one of A beside them.
// (M > 4 is done as two passes over each block of 2 rows, see skinny_cols; 3 rows measured
// slower there, faster for M = 3, 4.)
template <int M>
constexpr int dot_rows() {
  return M == 1 ? 8 : M == 2 ? 4 : M <= 4 ? 3 : 2;
}

// B columns contiguous over l (rsb == 1, W = B^T row-major with row stride ldw):
// c[i*ldc + r] = alpha * dot(A[i, :], W[r, :]) + beta * c for i < M, r < R. Each dot product is
// one 8-lane FMA chain over l (the last partial chunk through a masked load), then a horizontal
// sum. `pf` is the prefetch distance in floats (reads of W[r] run pf floats ahead).
template <int M, int R>
inline void dot_block(int64_t k, const float* a, int64_t lda, const float* w, int64_t ldw, float* c, int64_t ldc,
                      float alpha, float beta, int64_t pf) {
  __m256 acc[M][R];
  for (int i = 0; i < M; ++i)
    for (int r = 0; r < R; ++r) acc[i][r] = _mm256_setzero_ps();
  auto step = [&](int64_t l) {
    __m256 wv[R];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) wv[r] = _mm256_loadu_ps(w + r * ldw + l);
#pragma GCC unroll 8
    for (int i = 0; i < M; ++i) {
      const __m256 av = _mm256_loadu_ps(a + i * lda + l);
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) acc[i][r] = _mm256_fmadd_ps(av, wv[r], acc[i][r]);
    }
  };
  int64_t l = 0;
  for (; l + 16 <= k; l += 16) {  // one prefetch (into L2) per row per 64-byte line
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) _mm_prefetch(reinterpret_cast<const char*>(w + r * ldw + l + pf), _MM_HINT_T1);
    step(l);
    step(l + 8);
  }
  if (l + 8 <= k) {
    step(l);
    l += 8;
  }
  if (l < k) {  // masked lanes load 0 and leave the accumulators unchanged
    const __m256i mask = lane_mask(k - l);
    __m256 wv[R];
    for (int r = 0; r < R; ++r) wv[r] = _mm256_maskload_ps(w + r * ldw + l, mask);
    for (int i = 0; i < M; ++i) {
      const __m256 av = _mm256_maskload_ps(a + i * lda + l, mask);
      for (int r = 0; r < R; ++r) acc[i][r] = _mm256_fmadd_ps(av, wv[r], acc[i][r]);
    }
  }
  for (int i = 0; i < M; ++i) {
    for (int r = 0; r < R; ++r) {
      float* cij = c + i * ldc + r;
      const float s = hsum(acc[i][r]);
      *cij = beta == 0.0f ? alpha * s : alpha * s + beta * *cij;
    }
  }
}

// C[0:M, j0:j1] for B stored transposed (B(l, j) = b[j*csb + l]): blocks of dot_rows<M>() rows
// of W, then single rows at the end.
template <int M>
void skinny_cols(int64_t k, const float* a, int64_t lda, const float* b, int64_t csb, float* c, int64_t ldc,
                 int64_t j0, int64_t j1, float alpha, float beta) {
  constexpr int R = dot_rows<M>();
  // Prefetch distance: the same offsets of a later block of rows (so that every line is prefetched
  // once), 4-16 KiB ahead; long rows prefetch 8 KiB ahead within the row. Prefetching into L2
  // rather than L1 measured ~1.5x faster here (L1 is too small for the lines in flight).
  const int64_t blk = R * csb;
  const int64_t pf = blk > 4096 ? 2048 : blk * ((1024 + blk - 1) / blk);
  int64_t j = j0;
  if constexpr (M <= 4) {
    for (; j + R <= j1; j += R) dot_block<M, R>(k, a, lda, b + j * csb, csb, c + j, ldc, alpha, beta, pf);
    for (; j < j1; ++j) dot_block<M, 1>(k, a, lda, b + j * csb, csb, c + j, ldc, alpha, beta, pf);
  } else {
    // Rows 0..3 of A, then rows 4..M-1 over the same R rows of W (read from L1 the second time):
    // fewer loads per FMA than one pass with M * R accumulators could afford, and 4 rows of A
    // stay in L1 for longer k.
    constexpr int M2 = M - 4;
    const float* a2 = a + 4 * lda;
    float* c2 = c + 4 * ldc;
    static_assert(R == 2, "two-pass blocks are 2 rows of W");
    for (; j + R <= j1; j += R) {
      dot_block<4, R>(k, a, lda, b + j * csb, csb, c + j, ldc, alpha, beta, pf);
      dot_block<M2, R>(k, a2, lda, b + j * csb, csb, c2 + j, ldc, alpha, beta, pf);
    }
    for (; j < j1; ++j) {
      dot_block<4, 1>(k, a, lda, b + j * csb, csb, c + j, ldc, alpha, beta, pf);
      dot_block<M2, 1>(k, a2, lda, b + j * csb, csb, c2 + j, ldc, alpha, beta, pf);
    }
  }
}

// Vectors of 8 columns per block for M rows of A when B rows are contiguous: M * NB <= 12 ymm.
// (M > 4 is done as two passes over each block, see skinny_rows.)
template <int M>
constexpr int axpy_vectors() {
  return M <= 3 ? 4 : 3;
}

// Rows of B per k block in skinny_rows: the block's rows are read as this many sequential
// streams, and C is updated once per block.
constexpr int64_t kRowsKB = 16;

// B rows contiguous over j (csb == 1, B(l, j) = b[l*rsb + j]): for a block of rows l0..l0+kb and
// the columns c0..c0+cols (cols <= 8*NB; fewer only with Tail), acc[i] = sum_l A[i, l] * B[l, :]
// in registers (one FMA chain per lane over l), then C = alpha * acc + (first ? beta * C : C).
template <int M, int NB, bool Tail>
inline void axpy_block(int64_t kb, const float* a, int64_t lda, const float* b, int64_t rsb, float* c, int64_t ldc,
                       int64_t cols, float alpha, float beta, bool first) {
  __m256i mask[NB];
  if (Tail)
    for (int v = 0; v < NB; ++v) mask[v] = lane_mask(std::max<int64_t>(0, std::min<int64_t>(8, cols - 8 * v)));
  __m256 acc[M][NB];
  for (int i = 0; i < M; ++i)
    for (int v = 0; v < NB; ++v) acc[i][v] = _mm256_setzero_ps();
  for (int64_t l = 0; l < kb; ++l) {
    const float* bl = b + l * rsb;
    // The same columns kRowsKB rows further on (the next k block).
    for (int v = 0; v < NB; v += 2)
      _mm_prefetch(reinterpret_cast<const char*>(bl + kRowsKB * rsb + 8 * v), _MM_HINT_T1);
    __m256 bv[NB];
#pragma GCC unroll 4
    for (int v = 0; v < NB; ++v) bv[v] = Tail ? _mm256_maskload_ps(bl + 8 * v, mask[v]) : _mm256_loadu_ps(bl + 8 * v);
#pragma GCC unroll 8
    for (int i = 0; i < M; ++i) {
      const __m256 av = _mm256_broadcast_ss(a + i * lda + l);
#pragma GCC unroll 4
      for (int v = 0; v < NB; ++v) acc[i][v] = _mm256_fmadd_ps(av, bv[v], acc[i][v]);
    }
  }
  const __m256 valpha = _mm256_set1_ps(alpha);
  const __m256 vbeta = _mm256_set1_ps(first ? beta : 1.0f);
  const bool read_c = !(first && beta == 0.0f);
  for (int i = 0; i < M; ++i) {
    float* ci = c + i * ldc;
    for (int v = 0; v < NB; ++v) {
      __m256 r = _mm256_mul_ps(acc[i][v], valpha);
      if (read_c) {
        const __m256 old = Tail ? _mm256_maskload_ps(ci + 8 * v, mask[v]) : _mm256_loadu_ps(ci + 8 * v);
        r = _mm256_fmadd_ps(vbeta, old, r);
      }
      if (Tail) _mm256_maskstore_ps(ci + 8 * v, mask[v], r);
      else _mm256_storeu_ps(ci + 8 * v, r);
    }
  }
}

// C[0:M, j0:j1] for row-major B: k blocks of kRowsKB rows, each swept over the columns in blocks
// of 8 * axpy_vectors<M>() (the last one masked). Each output's arithmetic depends only on k.
template <int M>
void skinny_rows(int64_t k, const float* a, int64_t lda, const float* b, int64_t rsb, float* c, int64_t ldc,
                 int64_t j0, int64_t j1, float alpha, float beta) {
  constexpr int NB = axpy_vectors<M>();
  constexpr int64_t W = 8 * NB;
  for (int64_t l0 = 0; l0 < k; l0 += kRowsKB) {
    const int64_t kb = std::min(kRowsKB, k - l0);
    const bool first = l0 == 0;
    const float* bl = b + l0 * rsb;
    const float* al = a + l0;
    int64_t j = j0;
    if constexpr (M <= 4) {
      for (; j + W <= j1; j += W) axpy_block<M, NB, false>(kb, al, lda, bl + j, rsb, c + j, ldc, W, alpha, beta, first);
      if (j < j1) axpy_block<M, NB, true>(kb, al, lda, bl + j, rsb, c + j, ldc, j1 - j, alpha, beta, first);
    } else {
      // Rows 0..3 of A, then rows 4..M-1 over the same block of B (then in L1).
      constexpr int M2 = M - 4;
      const float* al2 = al + 4 * lda;
      float* c2 = c + 4 * ldc;
      for (; j + W <= j1; j += W) {
        axpy_block<4, NB, false>(kb, al, lda, bl + j, rsb, c + j, ldc, W, alpha, beta, first);
        axpy_block<M2, NB, false>(kb, al2, lda, bl + j, rsb, c2 + j, ldc, W, alpha, beta, first);
      }
      if (j < j1) {
        axpy_block<4, NB, true>(kb, al, lda, bl + j, rsb, c + j, ldc, j1 - j, alpha, beta, first);
        axpy_block<M2, NB, true>(kb, al2, lda, bl + j, rsb, c2 + j, ldc, j1 - j, alpha, beta, first);
      }
    }
  }
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
    case 4: return skinny_m<4>(k, a, lda, b, rsb, csb, c, ldc, j0, j1, alpha, beta);
    case 5: return skinny_m<5>(k, a, lda, b, rsb, csb, c, ldc, j0, j1, alpha, beta);
    case 6: return skinny_m<6>(k, a, lda, b, rsb, csb, c, ldc, j0, j1, alpha, beta);
    case 7: return skinny_m<7>(k, a, lda, b, rsb, csb, c, ldc, j0, j1, alpha, beta);
    default: return skinny_m<8>(k, a, lda, b, rsb, csb, c, ldc, j0, j1, alpha, beta);
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
