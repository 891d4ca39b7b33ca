// Vector math: portable loops and the run-time choice between them and the AVX2/FMA versions in
// vecmath_avx2.cpp. The choice is made once (first call) and cached:
//   AVX2+FMA when the CPU reports both and GLMKIT_ISA is not "portable", else the portable loops.
// GLMKIT_ISA=portable exists so tests can compare the two paths in one build.
#include "vecmath.h"

#include <cmath>
#include <cstdlib>
#include <cstring>

namespace glmkit {

// Implemented in vecmath_avx2.cpp (compiled with -mavx2 -mfma); only called when the CPU has both.
namespace avx2 {
float vmax(const float* x, int64_t n);
float vexp_sum(const float* x, float shift, float* out, int64_t n);
float vdot(const float* a, const float* b, int64_t n);
float vsum(const float* x, int64_t n);
void vaxpy(float a, const float* x, float* y, int64_t n);
void vscale(float* x, float a, int64_t n);
}  // namespace avx2

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

}  // namespace portable

namespace {

bool detect_avx2_fma() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return false;
#endif
}

// Whether the AVX2 path is used: the CPU has it and GLMKIT_ISA does not ask for the portable one.
bool use_avx2() {
  static const bool use = [] {
    const char* isa = std::getenv("GLMKIT_ISA");
    if (isa && std::strcmp(isa, "portable") == 0) return false;
    return cpu_has_avx2_fma();
  }();
  return use;
}

}  // namespace

bool cpu_has_avx2_fma() {
  static const bool has = detect_avx2_fma();
  return has;
}

float vmax(const float* x, int64_t n) { return use_avx2() ? avx2::vmax(x, n) : portable::vmax(x, n); }

float vexp_sum(const float* x, float shift, float* out, int64_t n) {
  return use_avx2() ? avx2::vexp_sum(x, shift, out, n) : portable::vexp_sum(x, shift, out, n);
}

float vdot(const float* a, const float* b, int64_t n) { return use_avx2() ? avx2::vdot(a, b, n) : portable::vdot(a, b, n); }

float vsum(const float* x, int64_t n) { return use_avx2() ? avx2::vsum(x, n) : portable::vsum(x, n); }

void vaxpy(float a, const float* x, float* y, int64_t n) {
  if (use_avx2()) avx2::vaxpy(a, x, y, n);
  else portable::vaxpy(a, x, y, n);
}

void vscale(float* x, float a, int64_t n) {
  if (use_avx2()) avx2::vscale(x, a, n);
  else portable::vscale(x, a, n);
}

}  // namespace glmkit
