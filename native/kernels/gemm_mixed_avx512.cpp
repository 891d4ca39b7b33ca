// Mixed-precision GEMM micro-kernel set (compiled with -mavx512f -mavx512bw -mavx512vl -mavx512dq
// -mavx512bf16; called only when the CPU has avx512_bf16, see gemm.cpp): float32 operands are
// rounded to bfloat16 while they are packed (vcvtne2ps2bf16: nearest even, denormal inputs read as
// zero), and the micro-kernel sums their products in float32 with vdpbf16ps. This is the GEMM of
// bf16 compute in training (GemmArgs.bf16Compute): twice the products per instruction of the f32
// kernel, half the bytes per packed panel, float32 accumulators and float32 C.
//
// Packed layouts pair consecutive k: a pair p holds k = 2p (low 16 bits) and 2p + 1 (high 16 bits)
// in one 32-bit word, zero past k.
//   A panel (MR rows):    a32[p*MR + r]  = (A(r, 2p), A(r, 2p+1))
//   B panel (NR columns): b32[p*NR + j]  = (B(2p, j), B(2p+1, j))
// vdpbf16ps(acc, broadcast(a32[p*MR + r]), b32[p*NR : p*NR + 16]) adds A(r, 2p) B(2p, j) and
// A(r, 2p+1) B(2p+1, j) to lane j: 32 products per instruction. The driver's panel offsets are in
// floats (a panel at ap + i*kc, a B panel at bp + j*kc); a packed panel uses the first half of
// that room (ceil(kc/2) words per row or column).
#include <immintrin.h>

#include <algorithm>

#include "bf16_round.h"
#include "gemm_avx512_tile.h"
#include "gemm_internal.h"

namespace glmkit {
namespace gemm_detail {
namespace {

constexpr int MR = kTileRows;
constexpr int NR = kTileCols;

// 16 floats -> 16 words with the bf16 bits in the low half.
inline __m512i bf16_words(__m512 v) { return _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(v)); }

// Pairs (lo[i], hi[i]) of 16 lanes.
inline __m512i pair_words(__m512 lo, __m512 hi) {
  return _mm512_or_si512(bf16_words(lo), _mm512_slli_epi32(bf16_words(hi), 16));
}

// 32 consecutive floats (masked past `left`) -> 16 pair words (x[2q], x[2q+1]).
inline __m512i consecutive_pairs(const float* x, int64_t left) {
  const __mmask16 m0 = left >= 16 ? 0xFFFF : left <= 0 ? 0 : static_cast<__mmask16>((1u << left) - 1);
  const __mmask16 m1 = left >= 32 ? 0xFFFF : left <= 16 ? 0 : static_cast<__mmask16>((1u << (left - 16)) - 1);
  const __m512bh h = _mm512_cvtne2ps_pbh(_mm512_maskz_loadu_ps(m1, x + 16), _mm512_maskz_loadu_ps(m0, x));
  return (__m512i)h;
}

// C[12x32] tile from an A panel and a B panel of ceil(kc/2) pairs (see MicroKernel in gemm_internal.h).
void kernel_12x32(int64_t kc, const float* af, const float* bf, float* c, int64_t ldc, int mr, int nr, float alpha,
                  float beta) {
  const uint32_t* a = reinterpret_cast<const uint32_t*>(af);
  const uint32_t* b = reinterpret_cast<const uint32_t*>(bf);
  const int64_t kp = (kc + 1) / 2;
  __m512 acc[MR][2];
  for (int r = 0; r < MR; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
  const bool full = mr == MR && nr == NR;
  if (full) {
    for (int r = 0; r < MR; ++r) _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc), _MM_HINT_T0);
  }
#pragma GCC unroll 2
  for (int64_t p = 0; p < kp; ++p) {
    const __m512bh b0 = (__m512bh)_mm512_load_si512(b);
    const __m512bh b1 = (__m512bh)_mm512_load_si512(b + 16);
    _mm_prefetch(reinterpret_cast<const char*>(b + 8 * NR), _MM_HINT_T0);
#pragma GCC unroll 12
    for (int r = 0; r < MR; ++r) {
      const __m512bh av = (__m512bh)_mm512_set1_epi32(static_cast<int>(a[r]));
      acc[r][0] = _mm512_dpbf16_ps(acc[r][0], av, b0);
      acc[r][1] = _mm512_dpbf16_ps(acc[r][1], av, b1);
    }
    a += MR;
    b += NR;
  }
  store_tile(acc, c, ldc, mr, nr, alpha, beta);
}

// Lines of `count` floats, each contiguous along k (x + i*stride + l), into the pair words
// out[p*width + i] for i < count, zero for i in [count, width): read 32 values of each line, then
// scatter their 16 pairs.
template <int Width>
void pack_lines_along_k(const float* x, int64_t stride, int count, int64_t kc, uint32_t* out) {
  const int64_t kp = (kc + 1) / 2;
  alignas(64) uint32_t tile[Width][16];
  for (int64_t p0 = 0; p0 < kp; p0 += 16) {
    const int64_t l0 = 2 * p0;
    for (int i = 0; i < Width; ++i) {
      if (i < count) _mm512_store_si512(tile[i], consecutive_pairs(x + i * stride + l0, kc - l0));
      else _mm512_store_si512(tile[i], _mm512_setzero_si512());
    }
    const int64_t pn = std::min<int64_t>(16, kp - p0);
    for (int64_t q = 0; q < pn; ++q) {
      uint32_t* o = out + (p0 + q) * Width;
      for (int i = 0; i < Width; ++i) o[i] = tile[i][q];
    }
  }
}

// Lines contiguous across the panel (x + l*stride + i, i < count <= 32): pairs of k rows at a time.
template <int Width>
void pack_lines_across_k(const float* x, int64_t stride, int count, int64_t kc, uint32_t* out) {
  const int64_t kp = (kc + 1) / 2;
  for (int64_t p = 0; p < kp; ++p) {
    const float* r0 = x + 2 * p * stride;
    const bool has_hi = 2 * p + 1 < kc;
    for (int i0 = 0; i0 < Width; i0 += 16) {
      const int left = count - i0;
      const __mmask16 m = left >= 16 ? 0xFFFF : left <= 0 ? 0 : static_cast<__mmask16>((1u << left) - 1);
      const __m512 lo = _mm512_maskz_loadu_ps(m, r0 + i0);
      const __m512 hi = has_hi ? _mm512_maskz_loadu_ps(m, r0 + stride + i0) : _mm512_setzero_ps();
      const __m512i w = pair_words(lo, hi);
      if (Width - i0 >= 16) _mm512_storeu_si512(out + p * Width + i0, w);
      else _mm512_mask_storeu_epi32(out + p * Width + i0, static_cast<__mmask16>((1u << (Width - i0)) - 1), w);
    }
  }
}

// Any strides: one element at a time.
template <int Width>
void pack_lines_scalar(const float* x, int64_t line_stride, int64_t k_stride, int count, int64_t kc, uint32_t* out) {
  const int64_t kp = (kc + 1) / 2;
  for (int64_t p = 0; p < kp; ++p)
    for (int i = 0; i < Width; ++i) {
      uint32_t lo = 0, hi = 0;
      if (i < count) {
        lo = bf16_bits_daz(x[i * line_stride + 2 * p * k_stride]);
        if (2 * p + 1 < kc) hi = bf16_bits_daz(x[i * line_stride + (2 * p + 1) * k_stride]);
      }
      out[p * Width + i] = lo | (hi << 16);
    }
}

template <int Width>
void pack_panel(const float* x, int64_t line_stride, int64_t k_stride, int count, int64_t kc, uint32_t* out) {
  if (k_stride == 1) pack_lines_along_k<Width>(x, line_stride, count, kc, out);
  else if (line_stride == 1) pack_lines_across_k<Width>(x, k_stride, count, kc, out);
  else pack_lines_scalar<Width>(x, line_stride, k_stride, count, kc, out);
}

// A(i, l) = a[i*rs + l*cs]: panels of MR rows at out + i*kc floats (see PackA).
void pack_a(const float* a, int64_t rs, int64_t cs, int64_t mc, int64_t kc, float* out) {
  for (int64_t i = 0; i < mc; i += MR) {
    const int rows = static_cast<int>(std::min<int64_t>(MR, mc - i));
    pack_panel<MR>(a + i * rs, rs, cs, rows, kc, reinterpret_cast<uint32_t*>(out + i * kc));
  }
}

// B(l, j) = b[l*rs + j*cs]: panels of NR columns at out + j*kc floats (see PackB).
void pack_b(const float* b, int64_t rs, int64_t cs, int64_t kc, int64_t nc, float* out) {
  for (int64_t j = 0; j < nc; j += NR) {
    const int cols = static_cast<int>(std::min<int64_t>(NR, nc - j));
    pack_panel<NR>(b + j * cs, cs, rs, cols, kc, reinterpret_cast<uint32_t*>(out + j * kc));
  }
}

}  // namespace

const GemmKernel& avx512_bf16_gemm_kernel() {
  // kc = 384: a B micro-panel of 192 pairs x 32 columns is 24 KB, as the f32 kernel's 192 x 32.
  static const GemmKernel k{"avx512_bf16", MR, NR, 384, 240, 3072, kernel_12x32, pack_a, pack_b, nullptr};
  return k;
}

}  // namespace gemm_detail
}  // namespace glmkit
