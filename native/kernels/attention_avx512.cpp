// AVX-512 tile product and decode loops for attention.cpp (compiled with the AVX-512 flags; called
// only when the CPU has AVX-512F/BW/VL/DQ). Same contracts as the AVX2 twins in attention_avx2.cpp:
//   tile_gemm_avx512: C[m x n] (ldc) = (accumulate ? C : 0) + A B, A(r, l) = a[r * a_rs + l * a_cs],
//   B [kk x n] row-major (ldb).
// Register blocking: 6 rows x 64 columns of C in 24 zmm accumulators; each step of l loads four
// 16-float pieces of a row of B and broadcasts one A element per row (24 FMAs per 4 loads + 6
// broadcasts). Column tails (n % 64) run the same kernel with fewer vectors, the last one masked,
// so every element of C is the same FMA chain over l whatever its column: deterministic.
// All helpers are in an anonymous namespace (no inline function shared with other ISA builds).
// GCC 12's AVX-512 headers build their "undefined" pass-through operand as a self-initialised
// variable, which -Wall reports as uninitialised in every inlined intrinsic: a known false positive.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <cstdint>

namespace glmkit {
namespace attn {

namespace {

// Accumulators are named variables (GCC keeps an array of them in memory, storing it every step).
template <int MR, int NV>
inline void micro(int64_t kk, const float* a, int64_t a_rs, int64_t a_cs, const float* b, int64_t ldb, float* c,
                  int64_t ldc, bool accumulate, __mmask16 last) {
  const __mmask16 full = 0xFFFF;
  // Mask of vector v (0-based) of a row: the last of the NV vectors may be partial.
#define GLMKIT_MASK(v) ((v) == NV - 1 ? last : full)
  __m512 c00 = _mm512_setzero_ps(), c01 = c00, c02 = c00, c03 = c00, c10 = c00, c11 = c00, c12 = c00, c13 = c00;
  __m512 c20 = c00, c21 = c00, c22 = c00, c23 = c00, c30 = c00, c31 = c00, c32 = c00, c33 = c00;
  __m512 c40 = c00, c41 = c00, c42 = c00, c43 = c00, c50 = c00, c51 = c00, c52 = c00, c53 = c00;
#define GLMKIT_ROWS(X) X(0, c00, c01, c02, c03) X(1, c10, c11, c12, c13) X(2, c20, c21, c22, c23) \
  X(3, c30, c31, c32, c33) X(4, c40, c41, c42, c43) X(5, c50, c51, c52, c53)
  if (accumulate) {
#define GLMKIT_LOAD(r, x0, x1, x2, x3)                                                  \
  if constexpr (MR > r) {                                                               \
    x0 = _mm512_maskz_loadu_ps(GLMKIT_MASK(0), c + r * ldc);                            \
    if constexpr (NV > 1) x1 = _mm512_maskz_loadu_ps(GLMKIT_MASK(1), c + r * ldc + 16); \
    if constexpr (NV > 2) x2 = _mm512_maskz_loadu_ps(GLMKIT_MASK(2), c + r * ldc + 32); \
    if constexpr (NV > 3) x3 = _mm512_maskz_loadu_ps(GLMKIT_MASK(3), c + r * ldc + 48); \
  }
    GLMKIT_ROWS(GLMKIT_LOAD)
#undef GLMKIT_LOAD
  }
  const float* ap = a;
  const float* bp = b;
  for (int64_t l = 0; l < kk; ++l, ap += a_cs, bp += ldb) {
    const __m512 b0 = _mm512_maskz_loadu_ps(GLMKIT_MASK(0), bp);
    const __m512 b1 = NV > 1 ? _mm512_maskz_loadu_ps(GLMKIT_MASK(1), bp + 16) : b0;
    const __m512 b2 = NV > 2 ? _mm512_maskz_loadu_ps(GLMKIT_MASK(2), bp + 32) : b0;
    const __m512 b3 = NV > 3 ? _mm512_maskz_loadu_ps(GLMKIT_MASK(3), bp + 48) : b0;
#define GLMKIT_FMA(r, x0, x1, x2, x3)                          \
  if constexpr (MR > r) {                                      \
    const __m512 av = _mm512_set1_ps(ap[r * a_rs]);            \
    x0 = _mm512_fmadd_ps(av, b0, x0);                          \
    if constexpr (NV > 1) x1 = _mm512_fmadd_ps(av, b1, x1);    \
    if constexpr (NV > 2) x2 = _mm512_fmadd_ps(av, b2, x2);    \
    if constexpr (NV > 3) x3 = _mm512_fmadd_ps(av, b3, x3);    \
  }
    GLMKIT_ROWS(GLMKIT_FMA)
#undef GLMKIT_FMA
  }
#define GLMKIT_STORE(r, x0, x1, x2, x3)                                                 \
  if constexpr (MR > r) {                                                               \
    _mm512_mask_storeu_ps(c + r * ldc, GLMKIT_MASK(0), x0);                             \
    if constexpr (NV > 1) _mm512_mask_storeu_ps(c + r * ldc + 16, GLMKIT_MASK(1), x1);  \
    if constexpr (NV > 2) _mm512_mask_storeu_ps(c + r * ldc + 32, GLMKIT_MASK(2), x2);  \
    if constexpr (NV > 3) _mm512_mask_storeu_ps(c + r * ldc + 48, GLMKIT_MASK(3), x3);  \
  }
  GLMKIT_ROWS(GLMKIT_STORE)
#undef GLMKIT_STORE
#undef GLMKIT_ROWS
#undef GLMKIT_MASK
}

template <int NV>
inline void rows(int64_t mr, int64_t kk, const float* a, int64_t a_rs, int64_t a_cs, const float* b, int64_t ldb,
                 float* c, int64_t ldc, bool accumulate, __mmask16 last) {
  switch (mr) {
    case 6: micro<6, NV>(kk, a, a_rs, a_cs, b, ldb, c, ldc, accumulate, last); break;
    case 5: micro<5, NV>(kk, a, a_rs, a_cs, b, ldb, c, ldc, accumulate, last); break;
    case 4: micro<4, NV>(kk, a, a_rs, a_cs, b, ldb, c, ldc, accumulate, last); break;
    case 3: micro<3, NV>(kk, a, a_rs, a_cs, b, ldb, c, ldc, accumulate, last); break;
    case 2: micro<2, NV>(kk, a, a_rs, a_cs, b, ldb, c, ldc, accumulate, last); break;
    default: micro<1, NV>(kk, a, a_rs, a_cs, b, ldb, c, ldc, accumulate, last); break;
  }
}

inline __mmask16 lanes(int64_t n) { return n >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << n) - 1u); }

}  // namespace

void tile_gemm_avx512(int64_t m, int64_t n, int64_t kk, const float* a, int64_t a_rs, int64_t a_cs, const float* b,
                      int64_t ldb, float* c, int64_t ldc, bool accumulate) {
  for (int64_t r0 = 0; r0 < m; r0 += 6) {
    const int64_t mr = m - r0 < 6 ? m - r0 : 6;
    const float* ar = a + r0 * a_rs;
    float* cr = c + r0 * ldc;
    int64_t j = 0;
    for (; j + 64 <= n; j += 64) rows<4>(mr, kk, ar, a_rs, a_cs, b + j, ldb, cr + j, ldc, accumulate, 0xFFFF);
    const int64_t rest = n - j;
    if (rest <= 0) continue;
    const __mmask16 last = lanes(rest - (rest - 1) / 16 * 16);
    switch ((rest + 15) / 16) {  // 1 to 4 vectors, the last one masked
      case 4: rows<4>(mr, kk, ar, a_rs, a_cs, b + j, ldb, cr + j, ldc, accumulate, last); break;
      case 3: rows<3>(mr, kk, ar, a_rs, a_cs, b + j, ldb, cr + j, ldc, accumulate, last); break;
      case 2: rows<2>(mr, kk, ar, a_rs, a_cs, b + j, ldb, cr + j, ldc, accumulate, last); break;
      default: rows<1>(mr, kk, ar, a_rs, a_cs, b + j, ldb, cr + j, ldc, accumulate, last); break;
    }
  }
}

namespace {

// The horizontal sums of 16 vectors, as _mm512_reduce_add_ps sums each (GCC's tree: lanes i + i+8,
// then i + i+4, then i + i+2, then i + i+1; float addition is commutative, so only the pairing
// matters): out[t] = reduce_add(p[t]) bit for bit, 16 at a time instead of one by one.
inline __m512 reduce_add_16(const __m512 (&p)[16]) {
  __m512 u[8];  // keys 2v, 2v+1: [a.L0 + a.L2, a.L1 + a.L3, b.L0 + b.L2, b.L1 + b.L3] (128-bit lanes)
#pragma GCC unroll 8
  for (int v = 0; v < 8; ++v)
    u[v] = _mm512_add_ps(_mm512_shuffle_f32x4(p[2 * v], p[2 * v + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                         _mm512_shuffle_f32x4(p[2 * v], p[2 * v + 1], _MM_SHUFFLE(3, 2, 3, 2)));
  __m512 w[4];  // keys 4v..4v+3, one per lane: the 4 partial sums of lanes i + i+8 + i+4 + i+12
#pragma GCC unroll 4
  for (int v = 0; v < 4; ++v)
    w[v] = _mm512_add_ps(_mm512_shuffle_f32x4(u[2 * v], u[2 * v + 1], _MM_SHUFFLE(2, 0, 2, 0)),
                         _mm512_shuffle_f32x4(u[2 * v], u[2 * v + 1], _MM_SHUFFLE(3, 1, 3, 1)));
  // lane L: [x0 + x2, x1 + x3] of keys L and L + 4 (z0), L + 8 and L + 12 (z1)
  const __m512 z0 = _mm512_add_ps(_mm512_shuffle_ps(w[0], w[1], _MM_SHUFFLE(1, 0, 1, 0)), _mm512_shuffle_ps(w[0], w[1], _MM_SHUFFLE(3, 2, 3, 2)));
  const __m512 z1 = _mm512_add_ps(_mm512_shuffle_ps(w[2], w[3], _MM_SHUFFLE(1, 0, 1, 0)), _mm512_shuffle_ps(w[2], w[3], _MM_SHUFFLE(3, 2, 3, 2)));
  // lane L: the sums of keys L, L + 4, L + 8, L + 12; then back to key order
  const __m512 r = _mm512_add_ps(_mm512_shuffle_ps(z0, z1, _MM_SHUFFLE(2, 0, 2, 0)), _mm512_shuffle_ps(z0, z1, _MM_SHUFFLE(3, 1, 3, 1)));
  return _mm512_permutexvar_ps(_mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15), r);
}

// The product of query head g with key row j as one 16-lane vector, before its horizontal sum.
inline __m512 key_product(const float* qg, const float* kj, int64_t D) {
  __m512 acc = _mm512_mul_ps(_mm512_loadu_ps(qg), _mm512_loadu_ps(kj));
  for (int64_t d = 16; d < D; d += 16) acc = _mm512_fmadd_ps(_mm512_loadu_ps(qg + d), _mm512_loadu_ps(kj + d), acc);
  return acc;
}

// o [G, D] += sum over j of p[g, j] * v_j with the G x D/16 sums in registers: the same FMA per
// element in the same order as the loop below it (a zero weight skipped).
template <int G, int NC>
void weighted_sum_regs(const float* p, int64_t nk, const float* v, int64_t ldk, float* o) {
  __m512 acc[G][NC];
#pragma GCC unroll 8
  for (int g = 0; g < G; ++g)
#pragma GCC unroll 8
    for (int c = 0; c < NC; ++c) acc[g][c] = _mm512_loadu_ps(o + g * NC * 16 + c * 16);
  for (int64_t j = 0; j < nk; ++j) {
    const float* vj = v + j * ldk;
#pragma GCC unroll 8
    for (int g = 0; g < G; ++g) {
      const float w = p[g * nk + j];
      if (w == 0.f) continue;
      const __m512 wv = _mm512_set1_ps(w);
#pragma GCC unroll 8
      for (int c = 0; c < NC; ++c) acc[g][c] = _mm512_fmadd_ps(wv, _mm512_loadu_ps(vj + c * 16), acc[g][c]);
    }
  }
#pragma GCC unroll 8
  for (int g = 0; g < G; ++g)
#pragma GCC unroll 8
    for (int c = 0; c < NC; ++c) _mm512_storeu_ps(o + g * NC * 16 + c * 16, acc[g][c]);
}

}  // namespace

// s [G, nk] = scale * q k^T for the G query heads (q [G, D]) of one query row; key row j at
// k + j * ldk. D must be a multiple of 16. Each score is scale * reduce_add(product vector); blocks
// of 16 keys sum their 16 vectors together (reduce_add_16), with the same bits (`blocks` false: one
// key at a time, the check of that).
void decode_scores_avx512(const float* q, int64_t G, int64_t D, const float* k, int64_t ldk, int64_t nk, float scale,
                          float* s, bool blocks) {
  const __m512 vscale = _mm512_set1_ps(scale);
  for (int64_t g = 0; g < G; ++g) {
    const float* qg = q + g * D;
    int64_t j = 0;
    for (; blocks && j + 16 <= nk; j += 16) {
      __m512 prod[16];
#pragma GCC unroll 16
      for (int t = 0; t < 16; ++t) prod[t] = key_product(qg, k + (j + t) * ldk, D);
      _mm512_storeu_ps(s + g * nk + j, _mm512_mul_ps(vscale, reduce_add_16(prod)));
    }
    for (; j < nk; ++j) s[g * nk + j] = scale * _mm512_reduce_add_ps(key_product(qg, k + j * ldk, D));
  }
}

// o [G, D] += sum over j of p[g, j] * v_j (value row j at v + j * ldk). D must be a multiple of 16.
// Common head shapes keep the sums in registers (`blocks` false: in memory, the check of that).
void decode_weighted_sum_avx512(const float* p, int64_t G, int64_t nk, const float* v, int64_t ldk, int64_t D,
                                float* o, bool blocks) {
  if (blocks && D == 32 && G == 1) return weighted_sum_regs<1, 2>(p, nk, v, ldk, o);
  if (blocks && D == 32 && G == 2) return weighted_sum_regs<2, 2>(p, nk, v, ldk, o);
  if (blocks && D == 32 && G == 4) return weighted_sum_regs<4, 2>(p, nk, v, ldk, o);
  if (blocks && D == 64 && G == 1) return weighted_sum_regs<1, 4>(p, nk, v, ldk, o);
  if (blocks && D == 64 && G == 2) return weighted_sum_regs<2, 4>(p, nk, v, ldk, o);
  if (blocks && D == 64 && G == 4) return weighted_sum_regs<4, 4>(p, nk, v, ldk, o);
  if (blocks && D == 128 && G == 1) return weighted_sum_regs<1, 8>(p, nk, v, ldk, o);
  if (blocks && D == 128 && G == 2) return weighted_sum_regs<2, 8>(p, nk, v, ldk, o);
  for (int64_t j = 0; j < nk; ++j) {
    const float* vj = v + j * ldk;
    for (int64_t g = 0; g < G; ++g) {
      const float w = p[g * nk + j];
      if (w == 0.f) continue;
      const __m512 wv = _mm512_set1_ps(w);
      float* og = o + g * D;
      for (int64_t d = 0; d < D; d += 16)
        _mm512_storeu_ps(og + d, _mm512_fmadd_ps(wv, _mm512_loadu_ps(vj + d), _mm512_loadu_ps(og + d)));
    }
  }
}

}  // namespace attn
}  // namespace glmkit
