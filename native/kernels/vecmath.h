// Vector math shared by the kernels (softmax, cross-entropy, attention, swiglu, optimizers).
// Each function dispatches at run time to an AVX2/FMA implementation (vecmath_avx2.cpp, compiled
// with -mavx2 -mfma) when the CPU has it, else to a portable loop (vecmath.cpp). Results of the two
// paths agree to float rounding (exp to ~2 ulp).
#pragma once
#include <cstdint>

namespace glmkit {

bool cpu_has_avx2_fma();

float vmax(const float* x, int64_t n);
// out[i] = exp(x[i] - shift); returns the sum of out. out may alias x.
float vexp_sum(const float* x, float shift, float* out, int64_t n);
float vdot(const float* a, const float* b, int64_t n);
float vsum(const float* x, int64_t n);
// y[i] += a * x[i]
void vaxpy(float a, const float* x, float* y, int64_t n);
// x[i] *= a
void vscale(float* x, float a, int64_t n);

}  // namespace glmkit
