// Packed, cache-blocked GEMM (GotoBLAS / BLIS loop structure) with a run-time choice between the
// AVX-512 micro-kernel (gemm_avx512.cpp), the AVX2/FMA one (gemm_avx2.cpp) and the portable one below.
// bf16 compute (GemmParams::bf16_compute) runs the same driver over the AVX512_BF16 set
// (gemm_mixed_avx512.cpp), or over a float32 set whose packing rounds to bf16 where the CPU lacks it.
//
//   for jc in n step NC:                 B block  [KC x NC] packed once, shared by the threads (L3)
//     for pc in k step KC:
//       pack B[pc:pc+kc, jc:jc+nc] into NR-column panels            (threads split the panels)
//       barrier
//       for each work unit (ic block x share of the panels) of this thread:
//         pack A[ic:ic+mc, pc:pc+kc] into MR-row panels              (thread-local, L2)
//         for jr over the unit's panels:   B micro-panel [KC x NR] stays in L1
//           for ir in mc step MR:          micro-kernel: C[ir:ir+MR, jr:jr+NR] (+)= A panel @ B panel
//
// The packed B buffers alternate between two halves, so one barrier per (jc, pc) step suffices.
// Every element of C is computed by the same sequence of operations whatever the thread count
// (threads only split the output), so results are bitwise identical for any number of threads.
// Small problems run on the calling thread; batches of small matrices are split over the batch.
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "bf16_round.h"
#include "gemm_internal.h"
#include "kernels.h"
#include "threadpool.h"

namespace glmkit {
namespace gemm_detail {
namespace {

// ---- portable micro-kernel set ----------------------------------------------------------------
// Plain C++ that the compiler can keep in (SSE) registers: a 4 x 8 tile of accumulators.
constexpr int PMR = 4;
constexpr int PNR = 8;

void portable_kernel(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int mr, int nr, float alpha,
                     float beta) {
  float acc[PMR][PNR] = {};
  for (int64_t l = 0; l < kc; ++l) {
    const float* al = a + l * PMR;
    const float* bl = b + l * PNR;
    for (int r = 0; r < PMR; ++r)
      for (int j = 0; j < PNR; ++j) acc[r][j] += al[r] * bl[j];
  }
  for (int r = 0; r < mr; ++r) {
    float* cr = c + r * ldc;
    if (beta == 0.0f) {
      for (int j = 0; j < nr; ++j) cr[j] = alpha * acc[r][j];
    } else if (beta == 1.0f) {
      for (int j = 0; j < nr; ++j) cr[j] = alpha * acc[r][j] + cr[j];
    } else {
      for (int j = 0; j < nr; ++j) cr[j] = alpha * acc[r][j] + beta * cr[j];
    }
  }
}

void portable_pack_a(const float* a, int64_t rs, int64_t cs, int64_t mc, int64_t kc, float* out) {
  for (int64_t i = 0; i < mc; i += PMR) {
    const int rows = static_cast<int>(std::min<int64_t>(PMR, mc - i));
    float* panel = out + i * kc;
    for (int64_t l = 0; l < kc; ++l)
      for (int r = 0; r < PMR; ++r) panel[l * PMR + r] = r < rows ? a[(i + r) * rs + l * cs] : 0.0f;
  }
}

void portable_pack_b(const float* b, int64_t rs, int64_t cs, int64_t kc, int64_t nc, float* out) {
  for (int64_t j = 0; j < nc; j += PNR) {
    const int cols = static_cast<int>(std::min<int64_t>(PNR, nc - j));
    float* panel = out + j * kc;
    for (int64_t l = 0; l < kc; ++l)
      for (int x = 0; x < PNR; ++x) panel[l * PNR + x] = x < cols ? b[l * rs + (j + x) * cs] : 0.0f;
  }
}

const GemmKernel kPortable{"portable", PMR, PNR, 256, 128, 2048, portable_kernel, portable_pack_a, portable_pack_b, nullptr};

bool cpu_has_avx512() {
  static const bool has = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
                          __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return has;
}

// Chosen per call (cheap) so that tests can switch paths at any time: GLMKIT_GEMM_ISA, else
// GLMKIT_ISA (avx512 | avx2 | portable) caps the choice; a path the CPU lacks falls back to the next.
const GemmKernel& select_kernel() {
  const char* forced = std::getenv("GLMKIT_GEMM_ISA");
  if (!forced || !*forced) forced = std::getenv("GLMKIT_ISA");
  static const bool has_avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (forced && std::strcmp(forced, "portable") == 0) return kPortable;
  const bool allow512 = !forced || std::strcmp(forced, "avx2") != 0;
  if (allow512 && cpu_has_avx512()) return avx512_gemm_kernel();
  return has_avx2 ? avx2_gemm_kernel() : kPortable;
}

// ---- mixed precision (bf16 compute) ------------------------------------------------------------

// Without avx512_bf16: a float32 kernel set whose packing rounds every operand to bf16. Products of
// bf16 values are exact in float32, so this computes what the dot-product kernel does up to the
// order of the float32 sums.
template <const GemmKernel& (*Base)()>
struct RoundedPanels {
  static void round_all(float* p, int64_t count) {
    for (int64_t i = 0; i < count; ++i) p[i] = round_bf16_daz(p[i]);
  }
  static void pack_a(const float* a, int64_t rs, int64_t cs, int64_t mc, int64_t kc, float* out) {
    Base().pack_a(a, rs, cs, mc, kc, out);
    round_all(out, (mc + Base().mr - 1) / Base().mr * Base().mr * kc);
  }
  static void pack_b(const float* b, int64_t rs, int64_t cs, int64_t kc, int64_t nc, float* out) {
    Base().pack_b(b, rs, cs, kc, nc, out);
    round_all(out, (nc + Base().nr - 1) / Base().nr * Base().nr * kc);
  }
  static const GemmKernel& kernel(const char* isa) {
    const GemmKernel& b = Base();
    static const GemmKernel k{isa, b.mr, b.nr, b.kc, b.mc, b.nc, b.kernel, pack_a, pack_b, nullptr};
    return k;
  }
};

const GemmKernel& portable_kernel_set() { return kPortable; }

bool cpu_has_avx512_bf16() {
  static const bool has = cpu_has_avx512() && __builtin_cpu_supports("avx512bf16");
  return has;
}

// The kernel set of bf16 compute under the same ISA cap as select_kernel().
const GemmKernel& select_mixed_kernel() {
  const GemmKernel& f32 = select_kernel();
  if (&f32 == &avx512_gemm_kernel()) {
    if (cpu_has_avx512_bf16()) return avx512_bf16_gemm_kernel();
    return RoundedPanels<avx512_gemm_kernel>::kernel("avx512 (bf16-rounded panels)");
  }
  if (&f32 == &avx2_gemm_kernel()) return RoundedPanels<avx2_gemm_kernel>::kernel("avx2+fma (bf16-rounded panels)");
  return RoundedPanels<portable_kernel_set>::kernel("portable (bf16-rounded panels)");
}

// ---- buffers and synchronisation --------------------------------------------------------------

// A 64-byte aligned float buffer that only grows; one per thread and role, so no call allocates
// once the sizes have been seen.
class GrowBuffer {
 public:
  ~GrowBuffer() { std::free(data_); }
  float* get(size_t n) {
    if (n > cap_) {
      std::free(data_);
      const size_t bytes = ((n + 16) * sizeof(float) + 63) / 64 * 64;
      data_ = static_cast<float*>(std::aligned_alloc(64, bytes));
      if (!data_) throw std::bad_alloc();
      cap_ = n;
    }
    return data_;
  }

 private:
  float* data_ = nullptr;
  size_t cap_ = 0;
};

thread_local GrowBuffer tl_pack_a;  // this thread's packed A block
thread_local GrowBuffer tl_pack_b;  // packed B blocks of GEMMs this thread drives (shared with helpers)
thread_local GrowBuffer tl_pack_b_panel;  // one B micro-panel, packed just before use

// Runs fn(t) for every logical thread t in [0, team), on the pool when team > 1.
template <typename Fn>
void parallel_or_inline(int team, Fn&& fn) {
  if (team <= 1) {
    fn(0);
    return;
  }
  parallel_for(team, 1, [&fn](int64_t begin, int64_t end, int) {
    for (int64_t t = begin; t < end; ++t) fn(t);
  });
}

// Spinning barrier for the threads of one GEMM. A participant may stand for several logical
// threads (when the pool gives it more than one index), so arrivals carry a weight.
class Barrier {
 public:
  explicit Barrier(int total) : total_(total) {}
  void arrive_and_wait(int weight) {
    const int gen = gen_.load(std::memory_order_acquire);
    if (count_.fetch_add(weight, std::memory_order_acq_rel) + weight == total_) {
      count_.store(0, std::memory_order_relaxed);
      gen_.fetch_add(1, std::memory_order_release);
      return;
    }
    for (int spins = 0; gen_.load(std::memory_order_acquire) == gen; ++spins) {
      if (spins > 2000) std::this_thread::yield();  // the other thread may be descheduled
    }
  }

 private:
  const int total_;
  std::atomic<int> count_{0};
  std::atomic<int> gen_{0};
};

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
inline int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

// One matrix product C = alpha * A @ B + beta * C with A(i, l) = a[i*rsa + l*csa],
// B(l, j) = b[l*rsb + j*csb], C row-major with row stride n. m, n, k >= 1.
struct Problem {
  const float* a;
  int64_t rsa, csa;
  const float* b;
  int64_t rsb, csb;
  float* c;
  int64_t m, n, k;
  float alpha, beta;
};

thread_local GrowBuffer tl_skinny_a;  // contiguous copy of a skinny A stored transposed

// A product with at most kSkinnyMaxM rows, or a single column (computed as its transpose, which
// has the same memory layout): no packing, B is streamed once, threads split the columns.
void gemm_skinny(const GemmKernel& K, Problem P, int team) {
  if (P.m > kSkinnyMaxM) {  // n == 1: C^T[1, m] = B^T[1, k] @ A^T[k, m]
    Problem t = P;
    t.a = P.b;
    t.rsa = P.csb;
    t.csa = P.rsb;  // == 1: a column of B is contiguous
    t.b = P.a;
    t.rsb = P.csa;
    t.csb = P.rsa;
    t.m = 1;
    t.n = P.m;
    P = t;
  }
  const float* a = P.a;
  int64_t lda = P.rsa;
  if (P.csa != 1) {  // A stored transposed: copy it to m contiguous rows first
    float* buf = tl_skinny_a.get(static_cast<size_t>(P.m * P.k));
    for (int64_t i = 0; i < P.m; ++i)
      for (int64_t l = 0; l < P.k; ++l) buf[i * P.k + l] = P.a[i * P.rsa + l * P.csa];
    a = buf;
    lda = P.k;
  }
  const int64_t blocks = ceil_div(P.n, 16);
  parallel_or_inline(team, [&](int64_t t) {
    const int64_t j0 = std::min(P.n, blocks * t / team * 16), j1 = std::min(P.n, blocks * (t + 1) / team * 16);
    if (j1 > j0)
      K.skinny(static_cast<int>(P.m), P.k, a, lda, P.b, P.rsb, P.csb, P.c, P.n, j0, j1, P.alpha, P.beta);
  });
}

// Runs one product on `team` logical threads (1: entirely on the calling thread).
void gemm_one(const GemmKernel& K, const Problem& P, int team) {
  if (K.skinny && (P.m <= kSkinnyMaxM || P.n == 1)) {
    gemm_skinny(K, P, team);
    return;
  }
  const int64_t MR = K.mr, NR = K.nr;
  const int64_t kc_max = std::min(K.kc, P.k);
  const int64_t nc_max = std::min(K.nc, round_up(P.n, NR));

  // Row blocks of A: balanced sizes, a multiple of MR each; with several threads the work units
  // are (row block x share of the B panels), enough of them to give every thread the same count.
  int64_t n_ic = ceil_div(P.m, K.mc);
  const int64_t mc = round_up(ceil_div(P.m, n_ic), MR);
  n_ic = ceil_div(P.m, mc);
  const int64_t n_js = (team > 1 && n_ic % team != 0) ? team : 1;
  const int64_t units = n_ic * n_js;

  if (n_ic == 1) {
    // A fits one block: every B micro-panel is used by this block only, so each thread packs the
    // panels it needs just before using them (L1-hot, no shared buffer, no barrier) and its own
    // copy of the small A block.
    const int64_t np = ceil_div(P.n, NR);
    parallel_or_inline(team, [&](int64_t t) {
      const int64_t q0 = np * t / team, q1 = np * (t + 1) / team;
      if (q1 <= q0) return;
      float* ap = tl_pack_a.get(static_cast<size_t>(mc * kc_max));
      float* bp = tl_pack_b_panel.get(static_cast<size_t>(kc_max * NR));
      for (int64_t pc = 0; pc < P.k; pc += K.kc) {
        const int64_t kc = std::min(K.kc, P.k - pc);
        const float beta = pc == 0 ? P.beta : 1.0f;
        K.pack_a(P.a + pc * P.csa, P.rsa, P.csa, P.m, kc, ap);
        for (int64_t q = q0; q < q1; ++q) {
          const int64_t j = q * NR;
          const int nr = static_cast<int>(std::min(NR, P.n - j));
          K.pack_b(P.b + pc * P.rsb + j * P.csb, P.rsb, P.csb, kc, nr, bp);
          for (int64_t ir = 0; ir < P.m; ir += MR) {
            const int mr = static_cast<int>(std::min(MR, P.m - ir));
            row_kernel(K, mr)(kc, ap + ir * kc, bp, P.c + ir * P.n + j, P.n, mr, nr, P.alpha, beta);
          }
        }
      }
    });
    return;
  }

  const int64_t b_half = kc_max * nc_max;
  float* packed_b = tl_pack_b.get(static_cast<size_t>(team > 1 ? 2 * b_half : b_half));
  Barrier barrier(team);
  auto body = [&](int64_t begin, int64_t end, int) {
    const int weight = static_cast<int>(end - begin);
    int64_t packed_ic = -1, packed_step = -1;  // which A block this thread's buffer holds
    int64_t step = 0;
    for (int64_t jc = 0; jc < P.n; jc += K.nc) {
      const int64_t nc = std::min(K.nc, P.n - jc);
      const int64_t np = ceil_div(nc, NR);
      for (int64_t pc = 0; pc < P.k; pc += K.kc, ++step) {
        const int64_t kc = std::min(K.kc, P.k - pc);
        float* bp = packed_b + (team > 1 ? (step & 1) * b_half : 0);
        const float* bsrc = P.b + pc * P.rsb + jc * P.csb;
        for (int64_t t = begin; t < end; ++t) {
          const int64_t p0 = np * t / team, p1 = np * (t + 1) / team;
          if (p1 > p0)
            K.pack_b(bsrc + p0 * NR * P.csb, P.rsb, P.csb, kc, std::min(nc, p1 * NR) - p0 * NR, bp + p0 * NR * kc);
        }
        if (team > 1) barrier.arrive_and_wait(weight);

        const float beta = pc == 0 ? P.beta : 1.0f;
        for (int64_t t = begin; t < end; ++t) {
          for (int64_t u = units * t / team; u < units * (t + 1) / team; ++u) {
            const int64_t ic = (u / n_js) * mc, js = u % n_js;
            const int64_t mcc = std::min(mc, P.m - ic);
            float* ap = tl_pack_a.get(static_cast<size_t>(mc * kc_max));
            if (packed_ic != ic || packed_step != step) {
              K.pack_a(P.a + ic * P.rsa + pc * P.csa, P.rsa, P.csa, mcc, kc, ap);
              packed_ic = ic;
              packed_step = step;
            }
            const int64_t q0 = np * js / n_js, q1 = np * (js + 1) / n_js;
            for (int64_t q = q0; q < q1; ++q) {
              const int64_t j = q * NR;
              const int nr = static_cast<int>(std::min(NR, nc - j));
              const float* bpanel = bp + j * kc;
              float* cblock = P.c + ic * P.n + jc + j;
              for (int64_t ir = 0; ir < mcc; ir += MR) {
                const int mr = static_cast<int>(std::min(MR, mcc - ir));
                row_kernel(K, mr)(kc, ap + ir * kc, bpanel, cblock + ir * P.n, P.n, mr, nr, P.alpha, beta);
              }
            }
          }
        }
      }
    }
  };
  if (team > 1) {
    // Capture one reference so std::function stores it inline (no allocation per call).
    parallel_for(team, 1, [&body](int64_t begin, int64_t end, int w) { body(begin, end, w); });
  } else {
    body(0, 1, 0);
  }
}

// C = beta * C (beta == 0: zeros, NaN in C does not propagate).
void scale_c(float* c, int64_t count, float beta) {
  if (beta == 0.0f) {
    std::fill(c, c + count, 0.0f);
  } else if (beta != 1.0f) {
    for (int64_t i = 0; i < count; ++i) c[i] *= beta;
  }
}

// Products below this many flops run on one thread (waking the pool costs ~10-20 us).
constexpr double kThreadFlops = 3.0e6;
// Skinny products are memory-bound: they are threaded once B has this many elements (1 MiB,
// ~50-100 us of streaming on one core), whatever their flop count.
constexpr double kThreadSkinnyB = 262144.0;

}  // namespace

void gemm_strided(const float* a, int64_t rsa, int64_t csa, const float* b, int64_t rsb, int64_t csb, float* c,
                  int64_t m, int64_t n, int64_t k, float alpha, float beta) {
  if (m <= 0 || n <= 0) return;
  if (k == 0 || alpha == 0.0f) {
    scale_c(c, m * n, beta);
    return;
  }
  const GemmKernel& K = select_kernel();
  const Problem P{a, rsa, csa, b, rsb, csb, c, m, n, k, alpha, beta};
  const double flops = 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
  const bool skinny = K.skinny && (m <= kSkinnyMaxM || n == 1);
  const bool big = skinny ? static_cast<double>(n) * static_cast<double>(k) >= kThreadSkinnyB : flops >= kThreadFlops;
  gemm_one(K, P, big ? num_threads() : 1);
}

// ---- prepacked weights --------------------------------------------------------------------------
// A weight W [n, k] used as B = W^T, packed once into the panels the driver above packs it into on
// every call: for each k block of KC rows (pc = 0, KC, ...), its ceil(n / NR) panels of kc x NR, so
// block pc starts at pc * ceil(n / NR) * NR. A product from this layout runs the same micro-kernels
// on the same panel contents with the same k blocking, so every element of C gets the bits the
// packed path of gemm() gives it (products with more than kSkinnyMaxM rows; gemm() runs smaller
// ones through the skinny kernels, whose sums run in another order).

int64_t packed_panels(const GemmKernel& K, int64_t n) { return ceil_div(n, K.nr); }

void gemm_prepacked_one(const GemmKernel& K, const float* a, const float* packed, float* c, int64_t m, int64_t n,
                        int64_t k, float beta, int team) {
  const int64_t MR = K.mr, NR = K.nr, np = packed_panels(K, n);
  const int64_t kc_max = std::min(K.kc, k);
  const int64_t mc = std::min(round_up(m, MR), round_up(K.mc, MR));
  parallel_or_inline(team, [&](int64_t t) {
    const int64_t q0 = np * t / team, q1 = np * (t + 1) / team;
    if (q1 <= q0) return;
    float* ap = tl_pack_a.get(static_cast<size_t>(mc * kc_max));
    for (int64_t ic = 0; ic < m; ic += mc) {
      const int64_t mcc = std::min(mc, m - ic);
      for (int64_t pc = 0; pc < k; pc += K.kc) {
        const int64_t kc = std::min(K.kc, k - pc);
        const float bet = pc == 0 ? beta : 1.0f;
        K.pack_a(a + ic * k + pc, k, 1, mcc, kc, ap);
        const float* block = packed + pc * np * NR;
        for (int64_t q = q0; q < q1; ++q) {
          const int64_t j = q * NR;
          const int nr = static_cast<int>(std::min(NR, n - j));
          for (int64_t ir = 0; ir < mcc; ir += MR) {
            const int mr = static_cast<int>(std::min(MR, mcc - ir));
            row_kernel(K, mr)(kc, ap + ir * kc, block + q * NR * kc, c + (ic + ir) * n + j, n, mr, nr, 1.0f, bet);
          }
        }
      }
    }
  });
}

}  // namespace gemm_detail

int64_t gemm_packed_size(int64_t n, int64_t k) {
  const auto& K = gemm_detail::select_kernel();
  return k * gemm_detail::packed_panels(K, n) * K.nr;
}

const char* gemm_pack_weights(const float* w, int64_t n, int64_t k, float* out) {
  using namespace gemm_detail;
  const GemmKernel& K = select_kernel();
  const int64_t np = packed_panels(K, n);
  for (int64_t pc = 0; pc < k; pc += K.kc) K.pack_b(w + pc, 1, k, std::min(K.kc, k - pc), n, out + pc * np * K.nr);
  return K.isa;
}

void gemm_prepacked(const float* a, const float* packed, float* c, int64_t m, int64_t n, int64_t k, float beta) {
  using namespace gemm_detail;
  if (m <= 0 || n <= 0) return;
  if (k == 0) {
    scale_c(c, m * n, beta);
    return;
  }
  const GemmKernel& K = select_kernel();
  const double flops = 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
  gemm_prepacked_one(K, a, packed, c, m, n, k, beta, flops >= kThreadFlops ? num_threads() : 1);
}

const char* gemm_isa() { return gemm_detail::select_kernel().isa; }

const char* gemm_mixed_isa() { return gemm_detail::select_mixed_kernel().isa; }

void gemm(const GemmParams& p) {
  using namespace gemm_detail;
  if (p.batch <= 0 || p.m <= 0 || p.n <= 0) return;
  if (p.k == 0 || p.alpha == 0.0f) {
    for (int64_t bi = 0; bi < p.batch; ++bi) scale_c(p.c + bi * p.stride_c, p.m * p.n, p.beta);
    return;
  }
  const GemmKernel& K = p.bf16_compute ? select_mixed_kernel() : select_kernel();

  Problem base{};
  base.rsa = p.trans_a ? 1 : p.k;
  base.csa = p.trans_a ? p.m : 1;
  base.rsb = p.trans_b ? 1 : p.n;
  base.csb = p.trans_b ? p.k : 1;
  base.m = p.m;
  base.n = p.n;
  base.k = p.k;
  base.alpha = p.alpha;
  base.beta = p.beta;
  int64_t batch = p.batch;
  // A batch of row-major A blocks times one shared B with contiguous C is one taller product.
  if (batch > 1 && !p.trans_a && p.stride_b == 0 && p.stride_a == p.m * p.k && p.stride_c == p.m * p.n) {
    base.m *= batch;
    batch = 1;
  }
  auto problem = [&](int64_t bi) {
    Problem q = base;
    q.a = p.a + bi * p.stride_a;
    q.b = p.b + bi * p.stride_b;
    q.c = p.c + bi * p.stride_c;
    return q;
  };

  const int threads = num_threads();
  const double flops = 2.0 * static_cast<double>(base.m) * static_cast<double>(base.n) * static_cast<double>(base.k);
  const bool skinny = K.skinny && (base.m <= kSkinnyMaxM || base.n == 1);
  const double b_elems = static_cast<double>(base.n) * static_cast<double>(base.k);
  const bool big = flops * static_cast<double>(batch) >= kThreadFlops ||
                   (skinny && b_elems * static_cast<double>(batch) >= kThreadSkinnyB);
  if (threads <= 1 || !big) {
    for (int64_t bi = 0; bi < batch; ++bi) gemm_one(K, problem(bi), 1);
    return;
  }
  // Several matrices: split the batch when that balances, else thread each product.
  const bool small_one = skinny ? b_elems < kThreadSkinnyB : flops < kThreadFlops;
  const bool split_batch = batch > 1 && (batch % threads == 0 || batch >= 4 * threads || small_one);
  if (split_batch) {
    auto run_range = [&](int64_t begin, int64_t end) {
      for (int64_t bi = begin; bi < end; ++bi) gemm_one(K, problem(bi), 1);
    };
    parallel_for(batch, 1, [&run_range](int64_t begin, int64_t end, int) { run_range(begin, end); });
    return;
  }
  for (int64_t bi = 0; bi < batch; ++bi) gemm_one(K, problem(bi), threads);
}

}  // namespace glmkit
