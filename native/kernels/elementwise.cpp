// SwiGLU on the fused gate/up layout, the embedding gather / scatter-add, and same-length add / multiply.
#include <cmath>
#include <cstring>

#include "kernels.h"
#include "threadpool.h"
#include "vecmath.h"

namespace glmkit {

namespace {

int64_t row_grain(int64_t cols) { return cols >= 16384 ? 1 : 16384 / cols; }

constexpr int64_t kChunk = 256;

// e[j] = exp(-g[j]) for j < n (n <= kChunk), with the vectorised exp.
void exp_neg(const float* g, float* e, int64_t n) {
  for (int64_t j = 0; j < n; ++j) e[j] = -g[j];
  vexp_sum(e, 0.0f, e, n);
}

}  // namespace

// x: [rows, 2*inner] = [gate | up]; out: [rows, inner] = silu(gate) * up, silu(g) = g * sigmoid(g).
void swiglu_forward(const float* x, float* out, int64_t rows, int64_t inner) {
  parallel_for(rows, row_grain(2 * inner), [&](int64_t r0, int64_t r1, int) {
    float e[kChunk];
    for (int64_t r = r0; r < r1; ++r) {
      const float* gate = x + r * 2 * inner;
      const float* up = gate + inner;
      float* o = out + r * inner;
      for (int64_t c = 0; c < inner; c += kChunk) {
        int64_t n = inner - c < kChunk ? inner - c : kChunk;
        exp_neg(gate + c, e, n);
        for (int64_t j = 0; j < n; ++j) {
          float sig = 1.0f / (1.0f + e[j]);
          o[c + j] = gate[c + j] * sig * up[c + j];
        }
      }
    }
  });
}

// dx: [rows, 2*inner], overwritten:
//   d gate = dout * up * sigmoid(g) * (1 + g * (1 - sigmoid(g)))
//   d up   = dout * silu(g)
void swiglu_backward(const float* x, const float* dout, float* dx, int64_t rows, int64_t inner) {
  parallel_for(rows, row_grain(2 * inner), [&](int64_t r0, int64_t r1, int) {
    float e[kChunk];
    for (int64_t r = r0; r < r1; ++r) {
      const float* gate = x + r * 2 * inner;
      const float* up = gate + inner;
      const float* d = dout + r * inner;
      float* dgate = dx + r * 2 * inner;
      float* dup = dgate + inner;
      for (int64_t c = 0; c < inner; c += kChunk) {
        int64_t n = inner - c < kChunk ? inner - c : kChunk;
        exp_neg(gate + c, e, n);
        for (int64_t j = 0; j < n; ++j) {
          float g = gate[c + j], u = up[c + j], dj = d[c + j];
          float sig = 1.0f / (1.0f + e[j]);
          dgate[c + j] = dj * u * sig * (1.0f + g * (1.0f - sig));
          dup[c + j] = dj * g * sig;
        }
      }
    }
  });
}

// out[i, :] = table[ids[i], :]; ids already range-checked by the binding.
void embedding_forward(const float* table, const int32_t* ids, float* out, int64_t n, int64_t dim) {
  parallel_for(n, row_grain(dim), [&](int64_t i0, int64_t i1, int) {
    for (int64_t i = i0; i < i1; ++i)
      std::memcpy(out + i * dim, table + static_cast<int64_t>(ids[i]) * dim, static_cast<size_t>(dim) * sizeof(float));
  });
}

// dtable[ids[i], :] += dout[i, :]. Repeated ids accumulate. Split by columns: every chunk walks all
// ids in order over its own columns, so there are no races and the sum order never changes.
void embedding_backward(const int32_t* ids, const float* dout, float* dtable, int64_t n, int64_t /*vocab*/,
                        int64_t dim) {
  int64_t grain = n >= 4096 ? 64 : dim;  // small batches: one chunk
  parallel_for(dim, grain, [&](int64_t c0, int64_t c1, int) {
    for (int64_t i = 0; i < n; ++i) vaxpy(1.0f, dout + i * dim + c0, dtable + static_cast<int64_t>(ids[i]) * dim + c0, c1 - c0);
  });
}

// GELU, exact (erf) form as torch.nn.GELU(): y = x * Phi(x), Phi(x) = (1 + erf(x / sqrt(2))) / 2.
// Elementwise over n values; erf in float (std::erf).
void gelu_forward(const float* x, float* out, int64_t n) {
  parallel_for(n, 16384, [&](int64_t i0, int64_t i1, int) {
    for (int64_t i = i0; i < i1; ++i) out[i] = 0.5f * x[i] * (1.0f + std::erf(x[i] * 0.70710678118654752f));
  });
}

// dx = dout * (Phi(x) + x * phi(x)), phi(x) = exp(-x^2 / 2) / sqrt(2 pi). Overwritten.
void gelu_backward(const float* x, const float* dout, float* dx, int64_t n) {
  parallel_for(n, 16384, [&](int64_t i0, int64_t i1, int) {
    for (int64_t i = i0; i < i1; ++i) {
      const float v = x[i];
      const float cdf = 0.5f * (1.0f + std::erf(v * 0.70710678118654752f));
      const float pdf = std::exp(-0.5f * v * v) * 0.39894228040143268f;
      dx[i] = dout[i] * (cdf + v * pdf);
    }
  });
}

// Same-length binary ops: float32 results equal to JavaScript's (a float32 sum or product computed in
// double and rounded to float32 is the correctly rounded float32 result). Threaded from 64k elements.
constexpr int64_t kBinaryGrain = 1 << 16;

void add_forward(const float* x, const float* y, float* out, int64_t n) {
  parallel_for(n, kBinaryGrain, [&](int64_t b, int64_t e, int) {
    for (int64_t i = b; i < e; ++i) out[i] = x[i] + y[i];
  });
}

void mul_forward(const float* x, const float* y, float* out, int64_t n) {
  parallel_for(n, kBinaryGrain, [&](int64_t b, int64_t e, int) {
    for (int64_t i = b; i < e; ++i) out[i] = x[i] * y[i];
  });
}

}  // namespace glmkit
