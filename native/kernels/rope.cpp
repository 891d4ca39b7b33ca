// Rotary position embedding (docs/methods.md §1.1-1.2), forward and inverse (= backward).
//   x, out: [rows, heads, head_dim]; cos, sin: [rows, rotary_dim/2]
// interleaved (GLM-4): pair (x[2i], x[2i+1]); half (GLM-4.5 rotate_half): pair (x[i], x[i + rd/2]).
// For a pair (a, b) and angle θ_i: a' = a cos - b sin, b' = b cos + a sin; inverse uses -θ.
// Dims >= rotary_dim are copied. out may alias x: each pair is read before it is written.
#include <algorithm>
#include <cstring>

#include "kernels.h"
#include "threadpool.h"

namespace glmkit {

namespace {

// One head vector of the half style: the two halves are contiguous, so this loop vectorises.
void rope_half(const float* x, const float* c, const float* s, float sign, float* o, int64_t half) {
  for (int64_t i = 0; i < half; ++i) {
    float a = x[i], b = x[i + half], sn = sign * s[i];
    o[i] = a * c[i] - b * sn;
    o[i + half] = b * c[i] + a * sn;
  }
}

void rope_interleaved(const float* x, const float* c, const float* s, float sign, float* o, int64_t half) {
  for (int64_t i = 0; i < half; ++i) {
    float a = x[2 * i], b = x[2 * i + 1], sn = sign * s[i];
    o[2 * i] = a * c[i] - b * sn;
    o[2 * i + 1] = b * c[i] + a * sn;
  }
}

}  // namespace

void rope(const float* x, const float* cos, const float* sin, float* out, int64_t rows, int64_t heads,
          int64_t head_dim, int64_t rotary_dim, bool interleaved, bool inverse) {
  const int64_t half = rotary_dim / 2;
  const float sign = inverse ? -1.f : 1.f;
  const int64_t grain = std::max<int64_t>(1, 16384 / std::max<int64_t>(1, heads * head_dim));
  parallel_for(rows, grain, [&](int64_t r0, int64_t r1, int) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* c = cos + r * half;
      const float* s = sin + r * half;
      for (int64_t h = 0; h < heads; ++h) {
        const float* xv = x + (r * heads + h) * head_dim;
        float* ov = out + (r * heads + h) * head_dim;
        if (interleaved)
          rope_interleaved(xv, c, s, sign, ov, half);
        else
          rope_half(xv, c, s, sign, ov, half);
        if (ov != xv && head_dim > rotary_dim)
          std::memcpy(ov + rotary_dim, xv + rotary_dim, sizeof(float) * (head_dim - rotary_dim));
      }
    }
  });
}

}  // namespace glmkit
