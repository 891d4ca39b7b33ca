// Row-wise softmax, log-softmax and cross-entropy over the last dim, forward and backward.
// Numerically stable: every exp is of (x - rowmax) or (x - lse), so it is <= 1 for finite rows.
// Rows are split across the thread pool; each row is computed by one thread, so results are the
// same whatever the thread count.
//
// Non-finite inputs (the reference backend follows the same rules):
//   - -inf entries get probability 0 (log-probability -inf) and gradient 0.
//   - a row that is entirely -inf has no mass: softmax gives all 0, log-softmax all -inf, its lse
//     is -inf, its cross-entropy loss is +inf (0 when ignored) and its gradients are
//     -dloss at the target / 0 elsewhere (the softmax term is taken as 0).
//   - a target whose logit is -inf in an otherwise finite row has loss +inf.
//   - +inf or NaN anywhere in a row makes that row NaN.
#include <cmath>

#include "kernels.h"
#include "threadpool.h"
#include "vecmath.h"

namespace glmkit {

namespace {

int64_t row_grain(int64_t cols) { return cols >= 16384 ? 1 : 16384 / cols; }

// Stack scratch for exps that must not be written to the output (logits are read-only, or the
// output aliases the input): rows are processed in chunks of this many columns.
constexpr int64_t kChunk = 1024;

// sum_j exp(x[j] - shift), without writing anywhere but a stack buffer.
double exp_sum(const float* x, float shift, int64_t n) {
  float buf[kChunk];
  double s = 0.0;
  for (int64_t c = 0; c < n; c += kChunk) s += vexp_sum(x + c, shift, buf, n - c < kChunk ? n - c : kChunk);
  return s;
}

// vmax skips NaN, so a row whose max is -inf is either all -inf or holds NaN: this tells which.
// Returns the value to fill such a row with: `fill` for all -inf, NaN otherwise.
float empty_row_fill(const float* x, int64_t n, float fill) {
  for (int64_t j = 0; j < n; ++j)
    if (std::isnan(x[j])) return NAN;
  return fill;
}

// log(sum_j exp(x[j])) computed as max + log(sum exp(x - max)) in double (rounded once, at the
// caller); -inf for a row of -inf.
double row_lse(const float* x, int64_t n) {
  float m = vmax(x, n);
  if (m == -INFINITY) return empty_row_fill(x, n, -INFINITY);
  return static_cast<double>(m) + std::log(static_cast<double>(exp_sum(x, m, n)));
}

}  // namespace

// x, out: [rows, cols]; out may alias x.
void softmax_forward(const float* x, float* out, int64_t rows, int64_t cols) {
  parallel_for(rows, row_grain(cols), [&](int64_t r0, int64_t r1, int) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = x + r * cols;
      float* yr = out + r * cols;
      float m = vmax(xr, cols);
      if (m == -INFINITY) {
        float fill = empty_row_fill(xr, cols, 0.0f);
        for (int64_t j = 0; j < cols; ++j) yr[j] = fill;
        continue;
      }
      float s = vexp_sum(xr, m, yr, cols);
      vscale(yr, 1.0f / s, cols);
    }
  });
}

// dx = y * (dy - sum(dy * y)), with y the softmax output.
void softmax_backward(const float* y, const float* dy, float* dx, int64_t rows, int64_t cols) {
  parallel_for(rows, row_grain(cols), [&](int64_t r0, int64_t r1, int) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* yr = y + r * cols;
      const float* dyr = dy + r * cols;
      float* dxr = dx + r * cols;
      float d = vdot(dyr, yr, cols);
      for (int64_t j = 0; j < cols; ++j) dxr[j] = yr[j] * (dyr[j] - d);
    }
  });
}

// out = x - lse(x) per row; out may alias x.
void log_softmax_forward(const float* x, float* out, int64_t rows, int64_t cols) {
  parallel_for(rows, row_grain(cols), [&](int64_t r0, int64_t r1, int) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = x + r * cols;
      float* yr = out + r * cols;
      float m = vmax(xr, cols);
      if (m == -INFINITY) {
        float fill = empty_row_fill(xr, cols, -INFINITY);
        for (int64_t j = 0; j < cols; ++j) yr[j] = fill;
        continue;
      }
      float log_s = static_cast<float>(std::log(exp_sum(xr, m, cols)));
      for (int64_t j = 0; j < cols; ++j) yr[j] = (xr[j] - m) - log_s;
    }
  });
}

// dx = dy - exp(y) * sum(dy), with y the log-softmax output; dx may alias dy.
void log_softmax_backward(const float* y, const float* dy, float* dx, int64_t rows, int64_t cols) {
  parallel_for(rows, row_grain(cols), [&](int64_t r0, int64_t r1, int) {
    float p[kChunk];
    for (int64_t r = r0; r < r1; ++r) {
      const float* yr = y + r * cols;
      const float* dyr = dy + r * cols;
      float* dxr = dx + r * cols;
      float s = vsum(dyr, cols);
      for (int64_t c = 0; c < cols; c += kChunk) {
        int64_t n = cols - c < kChunk ? cols - c : kChunk;
        vexp_sum(yr + c, 0.0f, p, n);
        for (int64_t j = 0; j < n; ++j) dxr[c + j] = dyr[c + j] - p[j] * s;
      }
    }
  });
}

// losses[r] = lse[r] - logits[r, t_r] (0 when t_r == ignore_index); lse[r] always written.
// Targets are already range-checked by the binding.
void cross_entropy_forward(const float* logits, const int32_t* targets, float* losses, float* lse, int64_t rows,
                           int64_t cols, int32_t ignore_index) {
  parallel_for(rows, row_grain(cols), [&](int64_t r0, int64_t r1, int) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = logits + r * cols;
      double l = row_lse(xr, cols);
      lse[r] = static_cast<float>(l);
      int32_t t = targets[r];
      if (t == ignore_index) losses[r] = 0.0f;
      else if (l == -INFINITY) losses[r] = INFINITY;
      else losses[r] = static_cast<float>(l - static_cast<double>(xr[t]));
    }
  });
}

// dlogits[r] = dloss[r] * (exp(logits[r] - lse[r]) - onehot(t_r)); all 0 for ignored rows.
void cross_entropy_backward(const float* logits, const int32_t* targets, const float* lse, const float* dloss,
                            float* dlogits, int64_t rows, int64_t cols, int32_t ignore_index) {
  parallel_for(rows, row_grain(cols), [&](int64_t r0, int64_t r1, int) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = logits + r * cols;
      float* gr = dlogits + r * cols;
      int32_t t = targets[r];
      if (t == ignore_index) {
        for (int64_t j = 0; j < cols; ++j) gr[j] = 0.0f;
        continue;
      }
      float l = lse[r];
      if (l == -INFINITY) {
        for (int64_t j = 0; j < cols; ++j) gr[j] = 0.0f;
      } else {
        vexp_sum(xr, l, gr, cols);
        vscale(gr, dloss[r], cols);
      }
      gr[t] -= dloss[r];
    }
  });
}

}  // namespace glmkit
