// AVX-512 GEMM micro-kernel and packing (compiled with -mavx512f -mavx512bw -mavx512vl -mavx512dq
// -mfma; called only when the CPU has AVX-512F/BW/VL/DQ, see gemm.cpp). The micro-kernel keeps a
// 12 x 32 tile of C in 24 zmm accumulators: per step of k it loads one 32-wide row of the packed B
// panel (2 zmm), broadcasts 12 values of the packed A panel (memory-operand broadcasts) and issues
// 24 FMAs: 24 + 2 + 1 of the 32 zmm registers.
// Blocking for ~32-48 KB L1d and >= 1 MB L2: a kc x 32 B micro-panel (kc = 192: 24 KB) and a 12 x kc
// A panel stay in L1, the mc x kc A block (mc = 240: 180 KB) in L2.
// Skinny products (m <= 8) use the AVX2 streaming kernels: they are bound by reading the weights.
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "gemm_avx512_tile.h"
#include "gemm_internal.h"

namespace glmkit {
namespace gemm_detail {
namespace {

constexpr int MR = kTileRows;
constexpr int NR = kTileCols;

// acc[R][2] += the first R rows of a 12-row A panel times a 32-wide B panel, l ascending: one FMA per
// element per step, so every R gives each element the same chain (the tiles below share it).
template <int R>
__attribute__((always_inline)) inline void accumulate_rows(int64_t kc, const float* a, const float* b, __m512 (&acc)[R][2]) {
#pragma GCC unroll 2
  for (int64_t l = 0; l < kc; ++l) {
    const __m512 b0 = _mm512_load_ps(b);
    const __m512 b1 = _mm512_load_ps(b + 16);
    _mm_prefetch(reinterpret_cast<const char*>(b + 8 * NR), _MM_HINT_T0);
#pragma GCC unroll 12
    for (int r = 0; r < R; ++r) {
      const __m512 av = _mm512_set1_ps(a[r]);
      acc[r][0] = _mm512_fmadd_ps(av, b0, acc[r][0]);
      acc[r][1] = _mm512_fmadd_ps(av, b1, acc[r][1]);
    }
    a += MR;
    b += NR;
  }
}

// C[12x32] tile (see MicroKernel in gemm_internal.h).
void kernel_12x32(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int mr, int nr, float alpha,
                  float beta) {
  __m512 acc[MR][2];
  for (int r = 0; r < MR; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
  const bool full = mr == MR && nr == NR;
  if (full) {
    for (int r = 0; r < MR; ++r) _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc), _MM_HINT_T0);
  }
  accumulate_rows<MR>(kc, a, b, acc);
  store_tile(acc, c, ldc, mr, nr, alpha, beta);
}

// The first R (4 or 8) rows of a 12-row panel, for a tile whose valid rows fit in R: the same FMA
// sequence per element as kernel_12x32 (one accumulator per element, l ascending, from zero), so the
// results are bitwise those of the 12-row kernel, without the wasted rows. The store is that of
// store_tile for beta 0 or 1 (row by row when the tile is full-width; an edge tile goes through it).
template <int R>
void kernel_rows_x32(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int mr, int nr, float alpha,
                     float beta) {
  if (nr != NR || (beta != 0.0f && beta != 1.0f)) {
    kernel_12x32(kc, a, b, c, ldc, mr, nr, alpha, beta);
    return;
  }
  __m512 acc[R][2];
  for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
  accumulate_rows<R>(kc, a, b, acc);
  const __m512 valpha = _mm512_set1_ps(alpha);
  for (int r = 0; r < mr; ++r) store_tile_row(c + r * ldc, acc[r][0], acc[r][1], valpha, beta);
}

// The kernel for a tile of `mr` valid rows: 4 or 8 rows where they suffice, else the 12-row one.
MicroKernel kernel_for_rows(int mr) {
  return mr <= 4 ? kernel_rows_x32<4> : mr <= 8 ? kernel_rows_x32<8> : kernel_12x32;
}

// GCC 12's unpack intrinsics pass an "undefined" vector that -Wmaybe-uninitialized reports (GCC bug
// 105593); the lanes it stands for are never read.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
// Packs one panel of MR rows (rows past `rows` are zero). See PackA.
void pack_a_panel(const float* a, int64_t rs, int64_t cs, int rows, int64_t kc, float* out) {
  if (cs == 1) {
    // Rows contiguous in l: 16 values of 4 rows at a time, transposed 4 x 4 inside each 128-bit lane
    // (lane q then holds steps 4q..4q+3 of the 4 rows), each lane stored as 4 of a step's 12 values.
    int64_t l = 0;
    for (; l + 16 <= kc; l += 16) {
      float* o = out + l * MR;
      for (int g = 0; g < MR; g += 4) {
        __m512 x[4];
        for (int j = 0; j < 4; ++j) x[j] = g + j < rows ? _mm512_loadu_ps(a + (g + j) * rs + l) : _mm512_setzero_ps();
        const __m512 t0 = _mm512_unpacklo_ps(x[0], x[1]), t1 = _mm512_unpackhi_ps(x[0], x[1]);
        const __m512 t2 = _mm512_unpacklo_ps(x[2], x[3]), t3 = _mm512_unpackhi_ps(x[2], x[3]);
        const __m512 y[4] = {_mm512_shuffle_ps(t0, t2, 0x44), _mm512_shuffle_ps(t0, t2, 0xEE),
                             _mm512_shuffle_ps(t1, t3, 0x44), _mm512_shuffle_ps(t1, t3, 0xEE)};
        for (int j = 0; j < 4; ++j) {
          _mm_storeu_ps(o + j * MR + g, _mm512_castps512_ps128(y[j]));
          _mm_storeu_ps(o + (4 + j) * MR + g, _mm512_extractf32x4_ps(y[j], 1));
          _mm_storeu_ps(o + (8 + j) * MR + g, _mm512_extractf32x4_ps(y[j], 2));
          _mm_storeu_ps(o + (12 + j) * MR + g, _mm512_extractf32x4_ps(y[j], 3));
        }
      }
    }
    for (; l < kc; ++l)
      for (int r = 0; r < MR; ++r) out[l * MR + r] = r < rows ? a[r * rs + l] : 0.0f;
    return;
  }
  for (int64_t l = 0; l < kc; ++l) {
    const float* al = a + l * cs;
    float* o = out + l * MR;
    int r = 0;
    for (; r < rows; ++r) o[r] = al[r * rs];
    for (; r < MR; ++r) o[r] = 0.0f;
  }
}

#pragma GCC diagnostic pop

void pack_a(const float* a, int64_t rs, int64_t cs, int64_t mc, int64_t kc, float* out) {
  if (rs == 1 && cs != 1) {
    // A stored transposed (a weight gradient's dY^T): at each l the block's mc rows are contiguous,
    // so read them once, in order, and hand each panel its 12 (zeros past mc).
    for (int64_t l = 0; l < kc; ++l) {
      const float* al = a + l * cs;
      for (int64_t i = 0; i < mc; i += MR) {
        const int rows = static_cast<int>(std::min<int64_t>(MR, mc - i));
        const __mmask16 valid = static_cast<__mmask16>((1u << rows) - 1);
        _mm512_mask_storeu_ps(out + i * kc + l * MR, static_cast<__mmask16>(0x0FFF), _mm512_maskz_loadu_ps(valid, al + i));
      }
    }
    return;
  }
  for (int64_t i = 0; i < mc; i += MR) {
    const int rows = static_cast<int>(std::min<int64_t>(MR, mc - i));
    pack_a_panel(a + i * rs, rs, cs, rows, kc, out + i * kc);
  }
}

// Packs one panel of NR columns (columns past `cols` are zero). See PackB.
void pack_b_panel(const float* b, int64_t rs, int64_t cs, int cols, int64_t kc, float* out) {
  if (cs == 1) {
    // Rows contiguous in j: masked loads cover a partial panel.
    const __mmask16 m0 = cols >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << cols) - 1);
    const __mmask16 m1 = cols >= 32 ? 0xFFFF : cols <= 16 ? 0 : static_cast<__mmask16>((1u << (cols - 16)) - 1);
    for (int64_t l = 0; l < kc; ++l) {
      _mm512_store_ps(out + l * NR, _mm512_maskz_loadu_ps(m0, b + l * rs));
      _mm512_store_ps(out + l * NR + 16, _mm512_maskz_loadu_ps(m1, b + l * rs + 16));
    }
    return;
  }
  if (rs == 1) {
    // B stored transposed (column j contiguous in l): read 16 values of each column, write rows.
    int64_t l = 0;
    alignas(64) float tile[NR][16];
    for (; l + 16 <= kc; l += 16) {
      for (int x = 0; x < NR; ++x) {
        if (x < cols) _mm512_store_ps(tile[x], _mm512_loadu_ps(b + x * cs + l));
        else _mm512_store_ps(tile[x], _mm512_setzero_ps());
      }
      float* o = out + l * NR;
      for (int y = 0; y < 16; ++y)
        for (int x = 0; x < NR; ++x) o[y * NR + x] = tile[x][y];
    }
    for (; l < kc; ++l)
      for (int x = 0; x < NR; ++x) out[l * NR + x] = x < cols ? b[x * cs + l] : 0.0f;
    return;
  }
  for (int64_t l = 0; l < kc; ++l)
    for (int x = 0; x < NR; ++x) out[l * NR + x] = x < cols ? b[l * rs + x * cs] : 0.0f;
}

void pack_b(const float* b, int64_t rs, int64_t cs, int64_t kc, int64_t nc, float* out) {
  for (int64_t j = 0; j < nc; j += NR) {
    const int cols = static_cast<int>(std::min<int64_t>(NR, nc - j));
    pack_b_panel(b + j * cs, rs, cs, cols, kc, out + j * kc);
  }
}

}  // namespace

const GemmKernel& avx512_gemm_kernel() {
  static const GemmKernel k{"avx512", MR, NR, 192, 240, 3072, kernel_12x32, pack_a, pack_b, avx2_gemm_kernel().skinny,
                            kernel_for_rows};
  return k;
}

}  // namespace gemm_detail
}  // namespace glmkit
