// AVX2/FMA tile product for attention.cpp (compiled with -mavx2 -mfma; called only when the CPU
// has both). C[m x n] (ldc) = (accumulate ? C : 0) + A B with A(r, l) = a[r * a_rs + l * a_cs]
// and B [kk x n] row-major (ldb). Register blocking: 6 rows x 16 columns of C in 12 ymm
// accumulators; each step broadcasts one A element per row and loads two 8-float rows of B.
#include <immintrin.h>

#include <cstdint>

namespace glmkit {
namespace attn {

namespace {

// Accumulators are named variables (not an array) so the compiler keeps all of them in registers.
template <int MR, int NV>
inline void micro(int64_t kk, const float* a, int64_t a_rs, int64_t a_cs, const float* b, int64_t ldb, float* c,
                  int64_t ldc, bool accumulate) {
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
  __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
#define GLMKIT_ROWS(X) X(0, c00, c01) X(1, c10, c11) X(2, c20, c21) X(3, c30, c31) X(4, c40, c41) X(5, c50, c51)
  if (accumulate) {
#define GLMKIT_LOAD(r, x0, x1)                                          \
  if constexpr (MR > r) {                                               \
    x0 = _mm256_loadu_ps(c + r * ldc);                                  \
    if constexpr (NV > 1) x1 = _mm256_loadu_ps(c + r * ldc + 8);        \
  }
    GLMKIT_ROWS(GLMKIT_LOAD)
#undef GLMKIT_LOAD
  }
  const float* ap = a;
  const float* bp = b;
  for (int64_t l = 0; l < kk; ++l, ap += a_cs, bp += ldb) {
    const __m256 b0 = _mm256_loadu_ps(bp);
    const __m256 b1 = NV > 1 ? _mm256_loadu_ps(bp + 8) : b0;
#define GLMKIT_FMA(r, x0, x1)                                           \
  if constexpr (MR > r) {                                               \
    const __m256 av = _mm256_broadcast_ss(ap + r * a_rs);               \
    x0 = _mm256_fmadd_ps(av, b0, x0);                                   \
    if constexpr (NV > 1) x1 = _mm256_fmadd_ps(av, b1, x1);             \
  }
    GLMKIT_ROWS(GLMKIT_FMA)
#undef GLMKIT_FMA
  }
#define GLMKIT_STORE(r, x0, x1)                                         \
  if constexpr (MR > r) {                                               \
    _mm256_storeu_ps(c + r * ldc, x0);                                  \
    if constexpr (NV > 1) _mm256_storeu_ps(c + r * ldc + 8, x1);        \
  }
  GLMKIT_ROWS(GLMKIT_STORE)
#undef GLMKIT_STORE
#undef GLMKIT_ROWS
}

template <int NV>
inline void rows(int64_t mr, int64_t kk, const float* a, int64_t a_rs, int64_t a_cs, const float* b, int64_t ldb,
                 float* c, int64_t ldc, bool accumulate) {
  switch (mr) {
    case 6: micro<6, NV>(kk, a, a_rs, a_cs, b, ldb, c, ldc, accumulate); break;
    case 5: micro<5, NV>(kk, a, a_rs, a_cs, b, ldb, c, ldc, accumulate); break;
    case 4: micro<4, NV>(kk, a, a_rs, a_cs, b, ldb, c, ldc, accumulate); break;
    case 3: micro<3, NV>(kk, a, a_rs, a_cs, b, ldb, c, ldc, accumulate); break;
    case 2: micro<2, NV>(kk, a, a_rs, a_cs, b, ldb, c, ldc, accumulate); break;
    default: micro<1, NV>(kk, a, a_rs, a_cs, b, ldb, c, ldc, accumulate); break;
  }
}

}  // namespace

void tile_gemm_avx2(int64_t m, int64_t n, int64_t kk, const float* a, int64_t a_rs, int64_t a_cs, const float* b,
                    int64_t ldb, float* c, int64_t ldc, bool accumulate) {
  for (int64_t r0 = 0; r0 < m; r0 += 6) {
    const int64_t mr = m - r0 < 6 ? m - r0 : 6;
    const float* ar = a + r0 * a_rs;
    float* cr = c + r0 * ldc;
    int64_t j = 0;
    for (; j + 16 <= n; j += 16) rows<2>(mr, kk, ar, a_rs, a_cs, b + j, ldb, cr + j, ldc, accumulate);
    for (; j + 8 <= n; j += 8) rows<1>(mr, kk, ar, a_rs, a_cs, b + j, ldb, cr + j, ldc, accumulate);
    for (; j < n; ++j)  // column tail (n % 8)
      for (int64_t r = 0; r < mr; ++r) {
        float s = accumulate ? cr[r * ldc + j] : 0.f;
        for (int64_t l = 0; l < kk; ++l) s += ar[r * a_rs + l * a_cs] * b[l * ldb + j];
        cr[r * ldc + j] = s;
      }
  }
}

// Decoding: G query heads (q [G, D] contiguous) of one query row against nk keys of their kv head,
// key row j at k + j * ldk. s [G, nk] = scale * q k^T. D must be a multiple of 8.
void decode_scores_avx2(const float* q, int64_t G, int64_t D, const float* k, int64_t ldk, int64_t nk, float scale,
                        float* s) {
  for (int64_t j = 0; j < nk; ++j) {
    const float* kj = k + j * ldk;
    for (int64_t g = 0; g < G; ++g) {
      const float* qg = q + g * D;
      __m256 acc = _mm256_mul_ps(_mm256_loadu_ps(qg), _mm256_loadu_ps(kj));
      for (int64_t d = 8; d < D; d += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(qg + d), _mm256_loadu_ps(kj + d), acc);
      __m128 h = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
      h = _mm_add_ps(h, _mm_movehl_ps(h, h));
      h = _mm_add_ss(h, _mm_movehdup_ps(h));
      s[g * nk + j] = scale * _mm_cvtss_f32(h);
    }
  }
}

// o [G, D] += sum over j of p[g, j] * v_j (value row j at v + j * ldk). D must be a multiple of 8.
void decode_weighted_sum_avx2(const float* p, int64_t G, int64_t nk, const float* v, int64_t ldk, int64_t D, float* o) {
  for (int64_t j = 0; j < nk; ++j) {
    const float* vj = v + j * ldk;
    for (int64_t g = 0; g < G; ++g) {
      const float w = p[g * nk + j];
      if (w == 0.f) continue;
      const __m256 wv = _mm256_set1_ps(w);
      float* og = o + g * D;
      for (int64_t d = 0; d < D; d += 8) _mm256_storeu_ps(og + d, _mm256_fmadd_ps(wv, _mm256_loadu_ps(vj + d), _mm256_loadu_ps(og + d)));
    }
  }
}

}  // namespace attn
}  // namespace glmkit
