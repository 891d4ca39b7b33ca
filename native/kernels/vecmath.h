// Vector math shared by the kernels (softmax, cross-entropy, attention, swiglu, optimizers).
// Each function dispatches at run time (isa.h) to an AVX-512 implementation (vecmath_avx512.cpp),
// an AVX2/FMA one (vecmath_avx2.cpp) or a portable loop (vecmath.cpp). Results of the paths agree to
// float rounding (exp to ~2 ulp; the SIMD paths compute the same exp, sums in a different order).
#pragma once
#include <cstdint>

#include "isa.h"

namespace glmkit {

float vmax(const float* x, int64_t n);
// out[i] = exp(x[i] - shift); returns the sum of out. out may alias x.
float vexp_sum(const float* x, float shift, float* out, int64_t n);
float vdot(const float* a, const float* b, int64_t n);
float vsum(const float* x, int64_t n);
// y[i] += a * x[i]
void vaxpy(float a, const float* x, float* y, int64_t n);
// x[i] *= a
void vscale(float* x, float a, int64_t n);

// Measured FMA throughput of the active path: every pool thread runs `iters` rounds of independent
// register FMAs; returns GFLOP/s (2 flops per lane per FMA) over the whole team.
double fma_peak_gflops(int64_t iters);

}  // namespace glmkit
