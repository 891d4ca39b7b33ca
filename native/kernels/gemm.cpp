// PLACEHOLDER being replaced in this session by the packed GEMM (see gemm_avx2.cpp).
#include "kernels.h"
namespace glmkit {
const char* gemm_isa() { return "portable"; }
void gemm(const GemmParams& p) {
  for (int64_t b = 0; b < p.batch; ++b) {
    const float* A = p.a + b * p.stride_a; const float* B = p.b + b * p.stride_b; float* C = p.c + b * p.stride_c;
    for (int64_t i = 0; i < p.m; ++i)
      for (int64_t j = 0; j < p.n; ++j) {
        double s = 0;
        for (int64_t l = 0; l < p.k; ++l)
          s += (p.trans_a ? A[l * p.m + i] : A[i * p.k + l]) * (p.trans_b ? B[j * p.k + l] : B[l * p.n + j]);
        C[i * p.n + j] = p.alpha * (float)s + (p.beta == 0.f ? 0.f : p.beta * C[i * p.n + j]);
      }
  }
}
}  // namespace glmkit
