// GEMM with a bfloat16 right operand: C[m, n] = A[m, k] @ op(B) + beta * C, A and C float32, B
// bfloat16 stored [k, n] or, transposed, [n, k] (a linear layer's weight W [out, in]: y = x @ W^T).
// Models kept in bf16 (generation, frozen reference and reward models) halve their weight memory
// and the bytes every decode step reads; arithmetic stays float32 (bf16 -> f32 is exact: the bits
// shifted left by 16).
//
//   m <= 8 and B transposed (decode): a streaming kernel reads each bf16 row of W once and converts
//     it in registers (AVX-512, AVX2 or portable, chosen like the float GEMM's ISA).
//   otherwise: k is cut into chunks; each chunk of B is converted to float32 into a thread-local
//     buffer (<= 4 MiB) and multiplied by the packed float GEMM (gemm.cpp), accumulating into C.
//   opt-in bf16 dot (p.bf16_dot, any m, B transposed, CPU with avx512_bf16, ISA cap allowing
//     AVX-512): A is rounded to bf16 (256 rows per pass) and every output is a vdpbf16ps chain
//     (gemm_bf16_dot_avx512.cpp). Not bitwise equal to the default path: A loses 16 mantissa bits.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "gemm_bf16_internal.h"
#include "gemm_internal.h"
#include "kernels.h"
#include "threadpool.h"

namespace glmkit {
namespace bf16_detail {

inline float bf16_to_f32(uint16_t h) {
  const uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

void skinny_bf16_portable(int m, int64_t k, const float* a, int64_t lda, const uint16_t* w, float* c, int64_t ldc,
                          int64_t j0, int64_t j1, float beta) {
  for (int64_t j = j0; j < j1; ++j) {
    const uint16_t* wj = w + j * k;
    for (int i = 0; i < m; ++i) {
      const float* ai = a + i * lda;
      float s = 0.0f;
      for (int64_t l = 0; l < k; ++l) s += ai[l] * bf16_to_f32(wj[l]);
      float* cij = c + i * ldc + j;
      *cij = beta == 0.0f ? s : s + beta * *cij;
    }
  }
}

namespace {

bool cpu_has_avx512() {
  static const bool has = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
                          __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return has;
}

// The same run-time choice and GLMKIT_GEMM_ISA / GLMKIT_ISA caps as the float GEMM (gemm.cpp).
SkinnyBf16 select_skinny(const char** isa) {
  const char* forced = std::getenv("GLMKIT_GEMM_ISA");
  if (!forced || !*forced) forced = std::getenv("GLMKIT_ISA");
  static const bool has_avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (forced && std::strcmp(forced, "portable") == 0) return *isa = "portable", skinny_bf16_portable;
  const bool allow512 = !forced || std::strcmp(forced, "avx2") != 0;
  if (allow512 && cpu_has_avx512()) return *isa = "avx512", skinny_bf16_avx512;
  if (has_avx2) return *isa = "avx2+fma", skinny_bf16_avx2;
  return *isa = "portable", skinny_bf16_portable;
}

bool cpu_has_avx512_bf16() {
  static const bool has = cpu_has_avx512() && __builtin_cpu_supports("avx512bf16");
  return has;
}

// nullptr when the bf16-dot path may run, else why not.
const char* dot_unavailable() {
  const char* forced = std::getenv("GLMKIT_GEMM_ISA");
  if (!forced || !*forced) forced = std::getenv("GLMKIT_ISA");
  if (forced && (std::strcmp(forced, "portable") == 0 || std::strcmp(forced, "avx2") == 0))
    return "off (ISA capped below avx512)";
  if (!cpu_has_avx512_bf16()) return "off (this CPU lacks avx512_bf16)";
  return nullptr;
}

// Skinny products are threaded once W has this many elements (as the float GEMM's skinny rule).
constexpr int64_t kThreadElems = 262144;
// Rows of A rounded to bf16 per pass of the bf16-dot path.
constexpr int64_t kDotRows = 256;
// Floats of converted B per chunk (4 MiB).
constexpr int64_t kChunkElems = 1 << 20;

thread_local std::vector<float> tl_chunk;
thread_local std::vector<uint16_t> tl_a16;

void convert(const uint16_t* src, float* dst, int64_t count) {
  for (int64_t i = 0; i < count; ++i) dst[i] = bf16_to_f32(src[i]);
}

}  // namespace
}  // namespace bf16_detail

const char* gemm_bf16_isa() {
  const char* isa = "";
  bf16_detail::select_skinny(&isa);
  return isa;
}

namespace bf16_detail {
namespace {

// run(j0, j1) over the columns of C in 16-aligned ranges, one per thread once W has kThreadElems
// elements (else one range on the caller). Each output column is computed by one call, so results
// do not depend on the thread count.
template <class Run>
void split_columns(const GemmBf16Params& p, Run run) {
  const int team = p.n * p.k >= kThreadElems ? num_threads() : 1;
  const int64_t blocks = (p.n + 15) / 16;
  auto part = [&](int64_t t) {
    const int64_t j0 = std::min(p.n, blocks * t / team * 16), j1 = std::min(p.n, blocks * (t + 1) / team * 16);
    if (j1 > j0) run(j0, j1);
  };
  if (team <= 1) return part(0);
  parallel_for(team, 1, [&part](int64_t begin, int64_t end, int) {
    for (int64_t t = begin; t < end; ++t) part(t);
  });
}

}  // namespace
}  // namespace bf16_detail

const char* gemm_bf16_dot_isa() {
  const char* why = bf16_detail::dot_unavailable();
  return why ? why : "avx512_bf16";
}

void gemm_bf16(const GemmBf16Params& p) {
  using namespace bf16_detail;
  if (p.m <= 0 || p.n <= 0) return;
  if (p.bf16_dot && p.trans_b && p.k > 0 && !dot_unavailable()) {
    // A is rounded kDotRows rows at a time, so the bf16 copy stays small for a long prefill.
    const int64_t rows_max = std::min(p.m, kDotRows);
    std::vector<uint16_t>& a16 = tl_a16;
    if (static_cast<int64_t>(a16.size()) < rows_max * p.k) a16.resize(static_cast<size_t>(rows_max * p.k));
    const uint16_t* a16p = a16.data();
    for (int64_t i0 = 0; i0 < p.m; i0 += rows_max) {
      const int64_t rows = std::min(rows_max, p.m - i0);
      round_rows_bf16_avx512(rows * p.k, p.a + i0 * p.k, a16.data());
      float* c = p.c + i0 * p.n;
      split_columns(p, [&](int64_t j0, int64_t j1) { dot_bf16_avx512(rows, p.k, a16p, p.b, c, p.n, j0, j1, p.beta); });
    }
    return;
  }
  if (p.trans_b && p.m <= gemm_detail::kSkinnyMaxM && p.k > 0) {
    const char* isa = "";
    const SkinnyBf16 kernel = select_skinny(&isa);
    split_columns(p, [&](int64_t j0, int64_t j1) { kernel(static_cast<int>(p.m), p.k, p.a, p.k, p.b, p.c, p.n, j0, j1, p.beta); });
    return;
  }
  if (p.k == 0) {
    gemm_detail::gemm_strided(p.a, p.k, 1, nullptr, 1, 1, p.c, p.m, p.n, 0, 1.0f, p.beta);
    return;
  }
  // Chunks of k: B[k0:k0+kc, :] (or W[:, k0:k0+kc]) converted, then C (+)= A[:, k0:k0+kc] @ chunk.
  const int64_t kc_max = std::max<int64_t>(16, std::min<int64_t>(p.k, kChunkElems / p.n));
  std::vector<float>& buf = tl_chunk;
  if (static_cast<int64_t>(buf.size()) < kc_max * p.n) buf.resize(static_cast<size_t>(kc_max * p.n));
  for (int64_t k0 = 0; k0 < p.k; k0 += kc_max) {
    const int64_t kc = std::min(kc_max, p.k - k0);
    float* chunk = buf.data();
    if (p.trans_b) {
      // chunk[j*kc + l] = W[j, k0 + l]
      for (int64_t j = 0; j < p.n; ++j) convert(p.b + j * p.k + k0, chunk + j * kc, kc);
      gemm_detail::gemm_strided(p.a + k0, p.k, 1, chunk, 1, kc, p.c, p.m, p.n, kc, 1.0f, k0 == 0 ? p.beta : 1.0f);
    } else {
      convert(p.b + k0 * p.n, chunk, kc * p.n);  // rows k0..k0+kc of B, contiguous
      gemm_detail::gemm_strided(p.a + k0, p.k, 1, chunk, p.n, 1, p.c, p.m, p.n, kc, 1.0f, k0 == 0 ? p.beta : 1.0f);
    }
  }
}

}  // namespace glmkit
