// Vector math: portable loops and the run-time choice (isa.h) between them and the AVX2/FMA versions
// in vecmath_avx2.cpp and the AVX-512 ones in vecmath_avx512.cpp.
#include "vecmath.h"

#include <cmath>
#include <cstdlib>
#include <cstring>

#include <chrono>
#include <vector>

#include "threadpool.h"

namespace glmkit {

// Implemented in vecmath_avx2.cpp (compiled with -mavx2 -mfma) and vecmath_avx512.cpp (with the
// AVX-512 flags); only called when the CPU has them.
namespace avx2 {
float vmax(const float* x, int64_t n);
float vexp_sum(const float* x, float shift, float* out, int64_t n);
float vdot(const float* a, const float* b, int64_t n);
float vsum(const float* x, int64_t n);
void vaxpy(float a, const float* x, float* y, int64_t n);
void vscale(float* x, float a, int64_t n);
double fma_rounds(int64_t iters);
}  // namespace avx2
namespace avx512 {
float vmax(const float* x, int64_t n);
float vexp_sum(const float* x, float shift, float* out, int64_t n);
float vdot(const float* a, const float* b, int64_t n);
float vsum(const float* x, int64_t n);
void vaxpy(float a, const float* x, float* y, int64_t n);
void vscale(float* x, float a, int64_t n);
double fma_rounds(int64_t iters);
}  // namespace avx512

namespace portable {

float vmax(const float* x, int64_t n) {
  float m = -INFINITY;
  for (int64_t i = 0; i < n; ++i) m = x[i] > m ? x[i] : m;
  return m;
}

float vexp_sum(const float* x, float shift, float* out, int64_t n) {
  double s = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    float e = std::exp(x[i] - shift);
    out[i] = e;
    s += e;
  }
  return static_cast<float>(s);
}

float vdot(const float* a, const float* b, int64_t n) {
  double s = 0.0;
  for (int64_t i = 0; i < n; ++i) s += static_cast<double>(a[i]) * b[i];
  return static_cast<float>(s);
}

float vsum(const float* x, int64_t n) {
  double s = 0.0;
  for (int64_t i = 0; i < n; ++i) s += x[i];
  return static_cast<float>(s);
}

void vaxpy(float a, const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}

void vscale(float* x, float a, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] *= a;
}

// 8 independent multiply-add chains (the compiler may use SSE): flops done.
double fma_rounds(int64_t iters) {
  float acc[8] = {1, 1, 1, 1, 1, 1, 1, 1};
  const float m = 0.999999f, c = 1e-7f;
  for (int64_t i = 0; i < iters; ++i)
    for (int k = 0; k < 8; ++k) acc[k] = acc[k] * m + c;
  volatile float sink = acc[0] + acc[7];
  (void)sink;
  return 2.0 * 8.0 * static_cast<double>(iters);
}

}  // namespace portable

#define GLMKIT_VEC_DISPATCH(call)          \
  switch (vec_isa()) {                      \
    case Isa::avx512: return avx512::call;  \
    case Isa::avx2: return avx2::call;      \
    default: return portable::call;         \
  }

float vmax(const float* x, int64_t n) { GLMKIT_VEC_DISPATCH(vmax(x, n)) }
float vexp_sum(const float* x, float shift, float* out, int64_t n) { GLMKIT_VEC_DISPATCH(vexp_sum(x, shift, out, n)) }
float vdot(const float* a, const float* b, int64_t n) { GLMKIT_VEC_DISPATCH(vdot(a, b, n)) }
float vsum(const float* x, int64_t n) { GLMKIT_VEC_DISPATCH(vsum(x, n)) }
void vaxpy(float a, const float* x, float* y, int64_t n) { GLMKIT_VEC_DISPATCH(vaxpy(a, x, y, n)) }
void vscale(float* x, float a, int64_t n) { GLMKIT_VEC_DISPATCH(vscale(x, a, n)) }

#undef GLMKIT_VEC_DISPATCH

double fma_peak_gflops(int64_t iters) {
  const Isa isa = vec_isa();
  const int team = num_threads();
  std::vector<double> flops(team, 0.0);
  const auto t0 = std::chrono::steady_clock::now();
  parallel_for(team, 1, [&](int64_t b, int64_t e, int) {
    for (int64_t t = b; t < e; ++t)
      flops[t] = isa == Isa::avx512 ? avx512::fma_rounds(iters) : isa == Isa::avx2 ? avx2::fma_rounds(iters) : portable::fma_rounds(iters);
  });
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double total = 0.0;
  for (double f : flops) total += f;
  return total / s / 1e9;
}

}  // namespace glmkit
