// The routed experts of a mixture-of-experts layer in one call, for inference (decode steps carry
// a handful of tokens, so op dispatch, not arithmetic, decides their cost: src/models/glm/moe.ts).
//
//   for each expert e used, in the order given (ascending expert id):
//     X_e   = the rows of x routed to e, in token order                    [m_e, H]
//     G, U  = X_e @ Wg_e^T, X_e @ Wu_e^T                                    [m_e, I]
//     Y_e   = swiglu([G | U]) @ Wd_e^T                                      [m_e, H]
//     out[n] += Y_e[r] * w[n, k]   for the slot (n, k) of row r
//   then out += x's shared expert (same three products), when given.
//
// Every product goes through gemm_strided (the driver and kernels gemm() runs), SwiGLU through
// swiglu_forward, and the sums happen in the order above, so the result is bitwise the one the
// module computes op by op (index_select, linear, concat, swiglu, linear, mul, index_add, add).
#include <algorithm>
#include <cstring>
#include <vector>

#include "gemm_internal.h"
#include "kernels.h"

namespace glmkit {

namespace {

// y[m, H] = swiglu([x Wg^T | x Wu^T]) Wd^T for x [m, H] row-major; gu [m, 2I], g/u [m, I] scratch.
void expert_mlp(const float* x, int64_t m, int64_t H, int64_t I, const float* wg, const float* wu, const float* wd,
                std::vector<float>& g, std::vector<float>& u, std::vector<float>& gu, std::vector<float>& act, float* y) {
  using gemm_detail::gemm_strided;
  g.resize(m * I);
  u.resize(m * I);
  gu.resize(m * 2 * I);
  act.resize(m * I);
  gemm_strided(x, H, 1, wg, 1, H, g.data(), m, I, H, 1.0f, 0.0f);  // x @ Wg^T
  gemm_strided(x, H, 1, wu, 1, H, u.data(), m, I, H, 1.0f, 0.0f);  // x @ Wu^T
  for (int64_t r = 0; r < m; ++r) {
    std::memcpy(gu.data() + r * 2 * I, g.data() + r * I, sizeof(float) * I);
    std::memcpy(gu.data() + r * 2 * I + I, u.data() + r * I, sizeof(float) * I);
  }
  swiglu_forward(gu.data(), act.data(), m, I);
  gemm_strided(act.data(), I, 1, wd, 1, I, y, m, H, I, 1.0f, 0.0f);  // act @ Wd^T
}

}  // namespace

void moe_experts_forward(const MoeExpertsParams& p) {
  const int64_t N = p.tokens, H = p.hidden, I = p.inner, K = p.k;
  std::fill(p.out, p.out + N * H, 0.0f);
  // scratch kept per thread between calls (a decode step makes one call per MoE layer)
  static thread_local std::vector<float> xe, ye, g, u, gu, act;
  static thread_local std::vector<int64_t> slots;
  for (int64_t e = 0; e < p.experts_used; ++e) {
    slots.clear();
    for (int64_t s = 0; s < N * K; ++s)
      if (p.slot_expert[s] == e) slots.push_back(s);
    const int64_t m = static_cast<int64_t>(slots.size());
    if (m == 0) continue;
    xe.resize(m * H);
    ye.resize(m * H);
    for (int64_t r = 0; r < m; ++r) std::memcpy(xe.data() + r * H, p.x + (slots[r] / K) * H, sizeof(float) * H);
    expert_mlp(xe.data(), m, H, I, p.gate[e], p.up[e], p.down[e], g, u, gu, act, ye.data());
    for (int64_t r = 0; r < m; ++r) {
      float* o = p.out + (slots[r] / K) * H;
      const float* y = ye.data() + r * H;
      const float w = p.weights[slots[r]];
      for (int64_t h = 0; h < H; ++h) o[h] += y[h] * w;
    }
  }
  if (p.shared_inner > 0) {
    ye.resize(N * H);
    expert_mlp(p.x, N, H, p.shared_inner, p.shared_gate, p.shared_up, p.shared_down, g, u, gu, act, ye.data());
    for (int64_t i = 0; i < N * H; ++i) p.out[i] += ye[i];
  }
}

}  // namespace glmkit
