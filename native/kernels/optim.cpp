// Fused AdamW update (PyTorch's torch.optim.AdamW semantics), in place on param, m, v:
//   p = p - lr * wd * p                         (decoupled weight decay)
//   m = b1 * m + (1 - b1) * g
//   v = b2 * v + (1 - b2) * g^2
//   p = p - lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
// The constants (1 - beta, bias corrections, 1 - lr*wd) are computed once in double; the update is elementwise in float, split
// across the thread pool (each element is independent, so it is deterministic). With AVX-512
// (isa.h) the loop runs in optim_avx512.cpp, bitwise identical to this one.
#include <cmath>

#include "isa.h"
#include "kernels.h"
#include "threadpool.h"

namespace glmkit {

namespace optim_avx512 {
void adamw_range(float* param, const float* grad, float* m, float* v, int64_t i0, int64_t i1, float b1, float a1,
                 float b2, float a2, float inv_bc1, float inv_bc2, float eps, float decay, float lr);
}  // namespace optim_avx512

void adamw(float* param, const float* grad, float* m, float* v, int64_t n, double lr, double beta1, double beta2,
           double eps, double weight_decay, int64_t step) {
  const double t = static_cast<double>(step);
  const float inv_bc1 = static_cast<float>(1.0 / (1.0 - std::pow(beta1, t)));
  const float inv_bc2 = static_cast<float>(1.0 / (1.0 - std::pow(beta2, t)));
  const float decay = static_cast<float>(1.0 - lr * weight_decay);
  const float b1 = static_cast<float>(beta1), b2 = static_cast<float>(beta2);
  const float a1 = static_cast<float>(1.0 - beta1), a2 = static_cast<float>(1.0 - beta2);
  const float lr_f = static_cast<float>(lr), eps_f = static_cast<float>(eps);
  const bool wide = vec_isa() == Isa::avx512;
  parallel_for(n, 16384, [&](int64_t i0, int64_t i1, int) {
    if (wide) {
      optim_avx512::adamw_range(param, grad, m, v, i0, i1, b1, a1, b2, a2, inv_bc1, inv_bc2, eps_f, decay, lr_f);
      return;
    }
    for (int64_t i = i0; i < i1; ++i) {
      float g = grad[i];
      float mi = b1 * m[i] + a1 * g;
      float vi = b2 * v[i] + a2 * g * g;
      m[i] = mi;
      v[i] = vi;
      float update = (mi * inv_bc1) / (std::sqrt(vi * inv_bc2) + eps_f);
      param[i] = param[i] * decay - lr_f * update;
    }
  });
}

}  // namespace glmkit
