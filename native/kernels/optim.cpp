// Fused AdamW update (PyTorch's torch.optim.AdamW semantics), in place on param, m, v:
//   p = p - lr * wd * p                         (decoupled weight decay)
//   m = b1 * m + (1 - b1) * g
//   v = b2 * v + (1 - b2) * g^2
//   p = p - lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
// The constants (1 - beta, bias corrections, 1 - lr*wd) are computed once in double; the update is elementwise in float, split
// across the thread pool (each element is independent, so it is deterministic).
#include <cmath>

#include "kernels.h"
#include "threadpool.h"

namespace glmkit {

void adamw(float* param, const float* grad, float* m, float* v, int64_t n, double lr, double beta1, double beta2,
           double eps, double weight_decay, int64_t step) {
  const double t = static_cast<double>(step);
  const float inv_bc1 = static_cast<float>(1.0 / (1.0 - std::pow(beta1, t)));
  const float inv_bc2 = static_cast<float>(1.0 / (1.0 - std::pow(beta2, t)));
  const float decay = static_cast<float>(1.0 - lr * weight_decay);
  const float b1 = static_cast<float>(beta1), b2 = static_cast<float>(beta2);
  const float a1 = static_cast<float>(1.0 - beta1), a2 = static_cast<float>(1.0 - beta2);
  const float lr_f = static_cast<float>(lr), eps_f = static_cast<float>(eps);
  parallel_for(n, 16384, [&](int64_t i0, int64_t i1, int) {
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
