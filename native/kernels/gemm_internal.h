// Internal interface between the GEMM driver (gemm.cpp) and its micro-kernels. A micro-kernel
// set is an MR x NR register-blocked kernel plus the two packing routines that lay A and B out the
// way it reads them, and the cache blocking (KC, MC, NC) that suits it. gemm.cpp holds the driver
// and the portable set; gemm_avx2.cpp (compiled with -mavx2 -mfma) the AVX2/FMA set. Declarations
// only: nothing here may be inlined into a translation unit compiled with other ISA flags.
#pragma once
#include <cstdint>

namespace glmkit {
namespace gemm_detail {

// c[0:mr, 0:nr] (row stride ldc) = alpha * (Apanel @ Bpanel) + beta * c, where Apanel is MR x kc
// stored column by column (a[l*MR + r]) and Bpanel is kc x NR stored row by row (b[l*NR + j]).
// Only the valid mr x nr corner of the tile is written; beta == 0 writes without reading c.
using MicroKernel = void (*)(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int mr, int nr,
                             float alpha, float beta);

// Packs the mc x kc block A(i, l) = a[i*rs + l*cs] into ceil(mc/MR) panels of MR rows:
// out[p*MR*kc + l*MR + r] = A(p*MR + r, l), zero for rows past mc.
using PackA = void (*)(const float* a, int64_t rs, int64_t cs, int64_t mc, int64_t kc, float* out);

// Packs the kc x nc block B(l, j) = b[l*rs + j*cs] into ceil(nc/NR) panels of NR columns:
// out[p*NR*kc + l*NR + j] = B(l, p*NR + j), zero for columns past nc.
using PackB = void (*)(const float* b, int64_t rs, int64_t cs, int64_t kc, int64_t nc, float* out);

// Skinny products (m <= kSkinnyMaxM rows, no packing): c[0:m, j0:j1] = alpha * A @ B[:, j0:j1] + beta * c
// with A(i, l) = a[i*lda + l] and B(l, j) = b[l*rsb + j*csb] where rsb == 1 or csb == 1.
// Rows of C have stride ldc; beta == 0 writes without reading c.
constexpr int kSkinnyMaxM = 8;
using Skinny = void (*)(int m, int64_t k, const float* a, int64_t lda, const float* b, int64_t rsb, int64_t csb,
                        float* c, int64_t ldc, int64_t j0, int64_t j1, float alpha, float beta);

struct GemmKernel {
  const char* isa;
  int mr, nr;
  int64_t kc, mc, nc;  // cache blocking: kc x nc of B in L3, mc x kc of A in L2, kc x NR of B in L1
  MicroKernel kernel;
  PackA pack_a;
  PackB pack_b;
  Skinny skinny;  // nullptr: skinny products go through the packed path
  // The micro-kernel for a tile of mr valid rows (nullptr: `kernel` for every tile). Each must give
  // the bits `kernel` gives: fewer rows computed, the same operations per element.
  MicroKernel (*for_rows)(int mr) = nullptr;
};

// The micro-kernel of a tile with mr valid rows (a full tile: `kernel`, without a call to choose it).
inline MicroKernel row_kernel(const GemmKernel& K, int mr) { return mr == K.mr || !K.for_rows ? K.kernel : K.for_rows(mr); }

// The AVX2/FMA set (gemm_avx2.cpp). Call only when the CPU supports avx2 and fma.
const GemmKernel& avx2_gemm_kernel();

// The AVX-512 set (gemm_avx512.cpp). Call only when the CPU supports avx512f/bw/vl/dq (and avx2, fma:
// skinny products use the AVX2 kernels).
const GemmKernel& avx512_gemm_kernel();

// The mixed-precision set (gemm_mixed_avx512.cpp): operands rounded to bf16 while packed, vdpbf16ps
// products, float32 sums. Call only when the CPU supports avx512f/bw/vl/dq and avx512_bf16.
const GemmKernel& avx512_bf16_gemm_kernel();

// C[m, n] (row stride n) = alpha * A @ B + beta * C with A(i, l) = a[i*rsa + l*csa] and
// B(l, j) = b[l*rsb + j*csb] where rsb == 1 or csb == 1: one product through the same kernels and
// threading rules as gemm() (gemm.cpp), for callers that pack or convert their operands themselves.
void gemm_strided(const float* a, int64_t rsa, int64_t csa, const float* b, int64_t rsb, int64_t csb, float* c,
                  int64_t m, int64_t n, int64_t k, float alpha, float beta);

}  // namespace gemm_detail
}  // namespace glmkit
