// AVX-512 row loops of RMSNorm (norm.cpp), compiled with the AVX-512 flags and -ffp-contract=off and
// called only when the CPU has AVX-512F/BW/VL/DQ. They do the same operations in the same order as
// the portable loops in norm.cpp (the sum of squares in 8 double lanes with the tail added to lane
// 0, then the same pairwise reduction; no fused multiply-adds), so both paths give bitwise
// identical results; the wider registers only do more elements per instruction.
// GCC 12's AVX-512 headers build their "undefined" pass-through operand as a self-initialised
// variable, which -Wall reports as uninitialised in every inlined intrinsic: a known false positive.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <cmath>
#include <cstdint>

namespace glmkit {
namespace norm_avx512 {
namespace {

inline __m512d widen(const float* p) { return _mm512_cvtps_pd(_mm256_loadu_ps(p)); }

}  // namespace

// sum_j a[j] * b[j] in double, exactly as norm.cpp's dot_f64.
double dot_f64(const float* a, const float* b, int64_t n) {
  __m512d acc = _mm512_setzero_pd();
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) acc = _mm512_add_pd(acc, _mm512_mul_pd(widen(a + j), widen(b + j)));
  alignas(64) double s[8];
  _mm512_store_pd(s, acc);
  for (; j < n; ++j) s[0] += static_cast<double>(a[j]) * static_cast<double>(b[j]);
  return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

// y[j] = w[j] * (x[j] * rs)
void scale_row(const float* x, const float* w, float rs, float* y, int64_t n) {
  const __m512 vr = _mm512_set1_ps(rs);
  int64_t j = 0;
  for (; j + 16 <= n; j += 16)
    _mm512_storeu_ps(y + j, _mm512_mul_ps(_mm512_loadu_ps(w + j), _mm512_mul_ps(_mm512_loadu_ps(x + j), vr)));
  for (; j < n; ++j) y[j] = w[j] * (x[j] * rs);
}

// out[j] = a[j] * b[j]
void mul_row(const float* a, const float* b, float* out, int64_t n) {
  int64_t j = 0;
  for (; j + 16 <= n; j += 16) _mm512_storeu_ps(out + j, _mm512_mul_ps(_mm512_loadu_ps(a + j), _mm512_loadu_ps(b + j)));
  for (; j < n; ++j) out[j] = a[j] * b[j];
}

// g[j] = rs * (g[j] - x[j] * c)
void dx_row(float* g, const float* x, float rs, float c, int64_t n) {
  const __m512 vr = _mm512_set1_ps(rs), vc = _mm512_set1_ps(c);
  int64_t j = 0;
  for (; j + 16 <= n; j += 16)
    _mm512_storeu_ps(g + j, _mm512_mul_ps(vr, _mm512_sub_ps(_mm512_loadu_ps(g + j), _mm512_mul_ps(_mm512_loadu_ps(x + j), vc))));
  for (; j < n; ++j) g[j] = rs * (g[j] - x[j] * c);
}

// acc[j - b0] += (double)(dy[r, j] * x[r, j] * rstd[r]) for columns [b0, b1), rows in order.
// A block of 64 columns keeps its 64 sums in 8 registers while it walks the rows.
void dw_block(const float* dy, const float* x, const float* rstd, int64_t rows, int64_t dim, int64_t b0, int64_t b1,
              double* acc) {
  auto term = [&](int64_t r, int64_t j) {
    return _mm512_cvtps_pd(_mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(dy + r * dim + j), _mm256_loadu_ps(x + r * dim + j)),
                                         _mm256_set1_ps(rstd[r])));
  };
  if (b1 - b0 == 64) {
    __m512d s[8];
    for (int v = 0; v < 8; ++v) s[v] = _mm512_loadu_pd(acc + 8 * v);
    for (int64_t r = 0; r < rows; ++r)
      for (int v = 0; v < 8; ++v) s[v] = _mm512_add_pd(s[v], term(r, b0 + 8 * v));
    for (int v = 0; v < 8; ++v) _mm512_storeu_pd(acc + 8 * v, s[v]);
    return;
  }
  int64_t j = b0;
  for (; j + 8 <= b1; j += 8) {
    __m512d s = _mm512_loadu_pd(acc + (j - b0));
    for (int64_t r = 0; r < rows; ++r) s = _mm512_add_pd(s, term(r, j));
    _mm512_storeu_pd(acc + (j - b0), s);
  }
  for (; j < b1; ++j)
    for (int64_t r = 0; r < rows; ++r) acc[j - b0] += static_cast<double>(dy[r * dim + j] * x[r * dim + j] * rstd[r]);
}

}  // namespace norm_avx512
}  // namespace glmkit
