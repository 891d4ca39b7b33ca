// AVX-512 AdamW update for optim.cpp, compiled with the AVX-512 flags and -ffp-contract=off and
// called only when the CPU has AVX-512F/BW/VL/DQ. Each element goes through the same float
// operations in the same order as the portable loop (no fused multiply-adds; sqrt and division are
// correctly rounded in both), so the two paths give bitwise identical parameters and moments.
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
namespace optim_avx512 {

void adamw_range(float* param, const float* grad, float* m, float* v, int64_t i0, int64_t i1, float b1, float a1,
                 float b2, float a2, float inv_bc1, float inv_bc2, float eps, float decay, float lr) {
  const __m512 vb1 = _mm512_set1_ps(b1), va1 = _mm512_set1_ps(a1), vb2 = _mm512_set1_ps(b2), va2 = _mm512_set1_ps(a2);
  const __m512 vbc1 = _mm512_set1_ps(inv_bc1), vbc2 = _mm512_set1_ps(inv_bc2), veps = _mm512_set1_ps(eps);
  const __m512 vdecay = _mm512_set1_ps(decay), vlr = _mm512_set1_ps(lr);
  int64_t i = i0;
  for (; i + 16 <= i1; i += 16) {
    const __m512 g = _mm512_loadu_ps(grad + i);
    const __m512 mi = _mm512_add_ps(_mm512_mul_ps(vb1, _mm512_loadu_ps(m + i)), _mm512_mul_ps(va1, g));
    const __m512 vi = _mm512_add_ps(_mm512_mul_ps(vb2, _mm512_loadu_ps(v + i)), _mm512_mul_ps(_mm512_mul_ps(va2, g), g));
    _mm512_storeu_ps(m + i, mi);
    _mm512_storeu_ps(v + i, vi);
    const __m512 update = _mm512_div_ps(_mm512_mul_ps(mi, vbc1), _mm512_add_ps(_mm512_sqrt_ps(_mm512_mul_ps(vi, vbc2)), veps));
    _mm512_storeu_ps(param + i, _mm512_sub_ps(_mm512_mul_ps(_mm512_loadu_ps(param + i), vdecay), _mm512_mul_ps(vlr, update)));
  }
  for (; i < i1; ++i) {
    const float g = grad[i];
    const float mi = b1 * m[i] + a1 * g;
    const float vi = b2 * v[i] + a2 * g * g;
    m[i] = mi;
    v[i] = vi;
    const float update = (mi * inv_bc1) / (std::sqrt(vi * inv_bc2) + eps);
    param[i] = param[i] * decay - lr * update;
  }
}

}  // namespace optim_avx512
}  // namespace glmkit
