// RMSNorm, forward and backward, over rows of length dim:
//   r = 1 / sqrt(mean(x^2) + eps),  y = w * x * r
// The mean of squares is accumulated in double; everything else is float. Rows are split across the
// thread pool; the weight gradient dw (a sum over rows) is split by columns instead, each column
// summed over all rows in row order, so it is race-free and its value does not depend on the
// number of threads. With AVX-512 (isa.h) the row loops run in norm_avx512.cpp, which gives
// bitwise identical results (same operations in the same order, wider registers).
#include <cmath>

#include "isa.h"
#include "kernels.h"
#include "threadpool.h"

namespace glmkit {

namespace norm_avx512 {
double dot_f64(const float* a, const float* b, int64_t n);
void scale_row(const float* x, const float* w, float rs, float* y, int64_t n);
void mul_row(const float* a, const float* b, float* out, int64_t n);
void dx_row(float* g, const float* x, float rs, float c, int64_t n);
void dw_block(const float* dy, const float* x, const float* rstd, int64_t rows, int64_t dim, int64_t b0, int64_t b1,
              double* acc);
}  // namespace norm_avx512

namespace {
// Rows per parallel chunk so that one chunk holds at least ~16k elements.
int64_t row_grain(int64_t cols) { return cols >= 16384 ? 1 : 16384 / cols; }

// sum_j a[j] * b[j] in double, in 8 independent partial sums (so the compiler can vectorise it)
// added in a fixed order at the end.
double dot_f64(const float* a, const float* b, int64_t n) {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t j = 0;
  for (; j + 8 <= n; j += 8)
    for (int k = 0; k < 8; ++k) acc[k] += static_cast<double>(a[j + k]) * static_cast<double>(b[j + k]);
  for (; j < n; ++j) acc[0] += static_cast<double>(a[j]) * static_cast<double>(b[j]);
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

// acc[j - b0] += (double)(dy[r, j] * x[r, j] * rstd[r]) for columns [b0, b1), rows in order.
void dw_block(const float* dy, const float* x, const float* rstd, int64_t rows, int64_t dim, int64_t b0, int64_t b1,
              double* acc) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* dyr = dy + r * dim;
    const float* xr = x + r * dim;
    float rs = rstd[r];
    for (int64_t j = b0; j < b1; ++j) acc[j - b0] += static_cast<double>(dyr[j] * xr[j] * rs);
  }
}
}  // namespace

// x, out: [rows, dim]; w: [dim]; rstd: [rows] (saved for backward).
void rmsnorm_forward(const float* x, const float* w, float* out, float* rstd, int64_t rows, int64_t dim, float eps) {
  const bool wide = vec_isa() == Isa::avx512;
  parallel_for(rows, row_grain(dim), [&](int64_t r0, int64_t r1, int) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = x + r * dim;
      float* yr = out + r * dim;
      double ss = wide ? norm_avx512::dot_f64(xr, xr, dim) : dot_f64(xr, xr, dim);
      float rs = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(dim) + static_cast<double>(eps)));
      rstd[r] = rs;
      if (wide) norm_avx512::scale_row(xr, w, rs, yr, dim);
      else
        for (int64_t j = 0; j < dim; ++j) yr[j] = w[j] * (xr[j] * rs);
    }
  });
}

// dy, x, dx: [rows, dim]; w, dw: [dim]; rstd: [rows] from the forward.
//   g = w * dy;  dx = r * (g - x * r^2 * dot(g, x) / dim)   (overwritten)
//   dw += sum over rows of dy * x * r                       (accumulated)
void rmsnorm_backward(const float* dy, const float* x, const float* w, const float* rstd, float* dx, float* dw,
                      int64_t rows, int64_t dim) {
  // dw first (it reads dy, so dx may alias dy): each chunk owns columns [c0, c1) and walks every row in order.
  constexpr int64_t kCols = 64;
  const bool wide = vec_isa() == Isa::avx512;
  parallel_for(dim, kCols, [&](int64_t c0, int64_t c1, int) {
    for (int64_t b0 = c0; b0 < c1; b0 += kCols) {
      int64_t b1 = b0 + kCols < c1 ? b0 + kCols : c1;
      double acc[kCols] = {0.0};
      if (wide) norm_avx512::dw_block(dy, x, rstd, rows, dim, b0, b1, acc);
      else dw_block(dy, x, rstd, rows, dim, b0, b1, acc);
      for (int64_t j = b0; j < b1; ++j) dw[j] += static_cast<float>(acc[j - b0]);
    }
  });
  parallel_for(rows, row_grain(dim), [&](int64_t r0, int64_t r1, int) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* dyr = dy + r * dim;
      const float* xr = x + r * dim;
      float* dxr = dx + r * dim;
      float rs = rstd[r];
      if (wide) {
        norm_avx512::mul_row(w, dyr, dxr, dim);
        double gx = norm_avx512::dot_f64(dxr, xr, dim);
        norm_avx512::dx_row(dxr, xr, rs, static_cast<float>(gx / static_cast<double>(dim)) * rs * rs, dim);
        continue;
      }
      for (int64_t j = 0; j < dim; ++j) dxr[j] = w[j] * dyr[j];  // g = w * dy, kept in dx
      double gx = dot_f64(dxr, xr, dim);
      float c = static_cast<float>(gx / static_cast<double>(dim)) * rs * rs;
      for (int64_t j = 0; j < dim; ++j) dxr[j] = rs * (dxr[j] - xr[j] * c);
    }
  });
}


// LayerNorm over rows of length dim (torch.nn.LayerNorm, biased variance):
//   mu = mean(x), r = 1 / sqrt(mean((x - mu)^2) + eps),  y = (x - mu) * r * w + b
// Mean and variance are accumulated in double; mean and rstd are saved for backward.
void layernorm_forward(const float* x, const float* w, const float* b, float* out, float* mean, float* rstd,
                       int64_t rows, int64_t dim, float eps) {
  parallel_for(rows, row_grain(dim), [&](int64_t r0, int64_t r1, int) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = x + r * dim;
      float* yr = out + r * dim;
      double s = 0.0;
      for (int64_t j = 0; j < dim; ++j) s += static_cast<double>(xr[j]);
      const double mu = s / static_cast<double>(dim);
      double ss = 0.0;
      for (int64_t j = 0; j < dim; ++j) {
        const double d = static_cast<double>(xr[j]) - mu;
        ss += d * d;
      }
      const float rs = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(dim) + static_cast<double>(eps)));
      const float m = static_cast<float>(mu);
      mean[r] = m;
      rstd[r] = rs;
      for (int64_t j = 0; j < dim; ++j) yr[j] = (xr[j] - m) * rs * w[j] + b[j];
    }
  });
}

// With xhat = (x - mu) * r and g = w * dy:
//   dx = r * (g - mean(g) - xhat * mean(g * xhat))   (overwritten)
//   dw += sum over rows of dy * xhat,  db += sum over rows of dy   (accumulated)
void layernorm_backward(const float* dy, const float* x, const float* w, const float* mean, const float* rstd,
                        float* dx, float* dw, float* db, int64_t rows, int64_t dim) {
  // dw, db first (by columns, each summed over all rows in row order: race-free and thread-count independent).
  constexpr int64_t kCols = 64;
  parallel_for(dim, kCols, [&](int64_t c0, int64_t c1, int) {
    for (int64_t b0 = c0; b0 < c1; b0 += kCols) {
      int64_t b1 = b0 + kCols < c1 ? b0 + kCols : c1;
      double aw[kCols] = {0.0}, ab[kCols] = {0.0};
      for (int64_t r = 0; r < rows; ++r) {
        const float* dyr = dy + r * dim;
        const float* xr = x + r * dim;
        const float m = mean[r], rs = rstd[r];
        for (int64_t j = b0; j < b1; ++j) {
          aw[j - b0] += static_cast<double>(dyr[j] * ((xr[j] - m) * rs));
          ab[j - b0] += static_cast<double>(dyr[j]);
        }
      }
      for (int64_t j = b0; j < b1; ++j) {
        dw[j] += static_cast<float>(aw[j - b0]);
        db[j] += static_cast<float>(ab[j - b0]);
      }
    }
  });
  parallel_for(rows, row_grain(dim), [&](int64_t r0, int64_t r1, int) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* dyr = dy + r * dim;
      const float* xr = x + r * dim;
      float* dxr = dx + r * dim;
      const float m = mean[r], rs = rstd[r];
      double sg = 0.0, sgx = 0.0;
      for (int64_t j = 0; j < dim; ++j) {
        const double g = static_cast<double>(w[j]) * static_cast<double>(dyr[j]);
        sg += g;
        sgx += g * static_cast<double>((xr[j] - m) * rs);
      }
      const float mg = static_cast<float>(sg / static_cast<double>(dim));
      const float mgx = static_cast<float>(sgx / static_cast<double>(dim));
      for (int64_t j = 0; j < dim; ++j) dxr[j] = rs * (w[j] * dyr[j] - mg - (xr[j] - m) * rs * mgx);
    }
  });
}

}  // namespace glmkit
