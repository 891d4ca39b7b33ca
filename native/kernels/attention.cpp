// Fused scaled-dot-product attention (flash-attention style) with GQA, causal and
// prefix-bidirectional masks and key padding (docs/methods.md §1.1, §1.5). Contract: backend.ts.
//   q, out, dout, dq [B, Tq, Hq, D]    k, v, dk, dv [B, C, Hkv, D] (C = kv_capacity >= Tk, the first
//   Tk slots read)    lse [B, Hq, Tq]
// Query head h reads kv head h / (Hq / Hkv). Key j is visible to query i iff
//   (key_mask == null || key_mask[b, j] != 0) && (!causal || j <= q_offset + i || j < prefix_len[b]).
//
// Forward: for each (b, h, block of kBQ queries) the keys are visited in blocks of kBK with an
// online softmax (running max m and sum l per row, the output rescaled when m grows), so only
// kBQ x kBK score tiles exist; lse = m + log(l) is saved.
// Backward: P is recomputed per tile from q, k and lse; Delta_i = dout_i . out_i;
//   dV += P^T dO, dS = P o (dO V^T - Delta), dK += scale dS^T Q, dQ += scale dS K.
// Work split (no write races, deterministic for a fixed thread count):
//   fused   one task per (b, kv head): it owns dk/dv of its kv head and dq of the query heads that
//           share it, and walks key blocks x (query head, query block) in a fixed order;
//   split   when B * Hkv is too small to keep the threads busy: tasks (b, kv head, key block) write
//           dk/dv, then tasks (b, h, query block) recompute the tiles and write dq.
// Decoding (a few queries against a KV cache) skips the tiles: one task per (b, kv head) walks the
// visible keys once per query row for all the query heads that share them (scores, softmax, then the
// weighted sum of V).
// Tile products and the decode loops run on the path chosen at run time (isa.h): AVX-512
// (attention_avx512.cpp), AVX2/FMA (attention_avx2.cpp) or portable loops (here).
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "kernels.h"
#include "threadpool.h"
#include "vecmath.h"

namespace glmkit {

namespace attn {
// C[m x n] (ldc) = (accumulate ? C : 0) + A B, with A(r, l) = a[r * a_rs + l * a_cs] (so A may be a
// transposed view) and B [kk x n] row-major with leading dimension ldb.
void tile_gemm_avx2(int64_t m, int64_t n, int64_t kk, const float* a, int64_t a_rs, int64_t a_cs, const float* b,
                    int64_t ldb, float* c, int64_t ldc, bool accumulate);
void decode_scores_avx2(const float* q, int64_t G, int64_t D, const float* k, int64_t ldk, int64_t nk, float scale,
                        float* s);
void decode_weighted_sum_avx2(const float* p, int64_t G, int64_t nk, const float* v, int64_t ldk, int64_t D, float* o);
void tile_gemm_avx512(int64_t m, int64_t n, int64_t kk, const float* a, int64_t a_rs, int64_t a_cs, const float* b,
                      int64_t ldb, float* c, int64_t ldc, bool accumulate);
// `blocks`: 16 keys at a time and register sums (the default); false: one key at a time, in memory
// (GLMKIT_ATTENTION_DECODE_BLOCKS=0, which the tests use to check both give the same bits).
void decode_scores_avx512(const float* q, int64_t G, int64_t D, const float* k, int64_t ldk, int64_t nk, float scale,
                          float* s, bool blocks);
void decode_weighted_sum_avx512(const float* p, int64_t G, int64_t nk, const float* v, int64_t ldk, int64_t D,
                                float* o, bool blocks);
}  // namespace attn

namespace {

constexpr int64_t kBQ = 64;  // queries per tile
constexpr int64_t kBK = 64;  // keys per tile

void tile_gemm_portable(int64_t m, int64_t n, int64_t kk, const float* a, int64_t a_rs, int64_t a_cs, const float* b,
                        int64_t ldb, float* c, int64_t ldc, bool accumulate) {
  for (int64_t r = 0; r < m; ++r) {
    float* cr = c + r * ldc;
    if (!accumulate) std::memset(cr, 0, sizeof(float) * n);
    for (int64_t l = 0; l < kk; ++l) {
      const float av = a[r * a_rs + l * a_cs];
      const float* bl = b + l * ldb;
      for (int64_t j = 0; j < n; ++j) cr[j] += av * bl[j];
    }
  }
}

using TileGemm = void (*)(int64_t, int64_t, int64_t, const float*, int64_t, int64_t, const float*, int64_t, float*,
                          int64_t, bool);

// The tile product of the active path (read once per kernel call).
TileGemm tile_gemm_impl() {
  switch (vec_isa()) {
    case Isa::avx512: return attn::tile_gemm_avx512;
    case Isa::avx2: return attn::tile_gemm_avx2;
    default: return tile_gemm_portable;
  }
}

// Shape helpers shared by forward and backward.
struct Geometry {
  const AttentionParams& p;
  int64_t group, nqb, nkb, ldq, ldk;
  explicit Geometry(const AttentionParams& pp)
      : p(pp),
        group(pp.heads_q / pp.heads_kv),
        nqb((pp.tq + kBQ - 1) / kBQ),
        nkb((pp.tk + kBK - 1) / kBK),
        ldq(pp.heads_q * pp.head_dim),
        ldk(pp.heads_kv * pp.head_dim) {}

  int64_t prefix(int64_t b) const { return p.prefix_len ? p.prefix_len[b] : 0; }

  // One past the last key any query in [i0, i1) may see (before padding).
  int64_t key_limit(int64_t b, int64_t i1) const {
    if (!p.causal) return p.tk;
    return std::min(p.tk, std::max(p.q_offset + i1, prefix(b)));
  }
  // How many keys of [j0, j0 + nk) query i1 - 1 may see under the causal / prefix limit (every
  // earlier query sees no more); nk when not causal.
  int64_t causal_cols(int64_t b, int64_t i1, int64_t j0, int64_t nk) const {
    return std::clamp<int64_t>(key_limit(b, i1) - j0, 0, nk);
  }
  // First query that may see some key in [j0, ...).
  int64_t first_query(int64_t b, int64_t j0) const {
    if (!p.causal || j0 < prefix(b)) return 0;
    return std::max<int64_t>(0, j0 - p.q_offset);
  }
  // True when every key in [j0, j1) is visible to every query in [i0, i1) (no per-element mask).
  bool tile_full(int64_t b, int64_t i0, int64_t j0, int64_t j1) const {
    if (p.key_mask)
      for (int64_t j = j0; j < j1; ++j)
        if (p.key_mask[b * p.kv_capacity + j] == 0) return false;
    return !p.causal || j1 - 1 <= p.q_offset + i0 || j1 <= prefix(b);
  }
  // Row (b, i, h) of a [B, Tq, Hq, D] array and row (b, j, hk) of a [B, Tk, Hkv, D] array.
  template <class T>
  T* qrow(T* base, int64_t b, int64_t i, int64_t h) const {
    return base + ((b * p.tq + i) * p.heads_q + h) * p.head_dim;
  }
  template <class T>
  T* krow(T* base, int64_t b, int64_t j, int64_t hk) const {
    return base + ((b * p.kv_capacity + j) * p.heads_kv + hk) * p.head_dim;
  }
};

// kt[d * kBK + j] = factor * src[j0 + j][d] for one key block: K (times the softmax scale) or V
// packed transposed, so that S = Q K^T and dP = dO V^T are plain row-major tile products.
void pack_transposed(const Geometry& g, const float* src, int64_t b, int64_t hk, int64_t j0, int64_t nk, float factor,
                     float* kt) {
  const int64_t D = g.p.head_dim;
  for (int64_t j = 0; j < nk; ++j) {
    const float* row = g.krow(src, b, j0 + j, hk);
    for (int64_t d = 0; d < D; ++d) kt[d * kBK + j] = factor * row[d];
  }
}

// GLMKIT_ATTENTION_TRIM=0 computes every tile whole (the tests check both give the same bits).
bool trim_enabled() {
  const char* env = std::getenv("GLMKIT_ATTENTION_TRIM");
  return !(env && std::strcmp(env, "0") == 0);
}

// Query rows per product on a tile the causal limit cuts (the tile kernels' row block). Such a tile
// computes, for each group of rows, only the keys its last row may see, and sums only over the
// queries that see a group of keys: the terms left out are exact zeros (masked probabilities), so
// every element gets the bits of the whole-tile products.
constexpr int64_t kGroup = 6;

// S rows [0, nq) of a tile: `product(r0, rows, cols)` computes rows [r0, r0 + rows) over their first
// `cols` keys; the rest of each row (keys no row of its group may see) is set to `fill`. `whole`: one
// product over the whole tile.
template <class Product>
void tile_rows(const Geometry& g, bool whole, int64_t b, int64_t i0, int64_t nq, int64_t j0, int64_t nk, float* s,
               float fill, Product product) {
  if (whole) {
    product(0, nq, nk);
    return;
  }
  for (int64_t r0 = 0; r0 < nq; r0 += kGroup) {
    // whole vectors of keys: the AVX2 tile sums a column past the last multiple of 8 in scalar code
    const int64_t rows = std::min(kGroup, nq - r0);
    const int64_t cols = std::min(nk, (g.causal_cols(b, i0 + r0 + rows, j0, nk) + 15) / 16 * 16);
    if (cols > 0) product(r0, rows, cols);
    for (int64_t r = r0; r < r0 + rows; ++r) std::fill(s + r * kBK + cols, s + r * kBK + nk, fill);
  }
}

// c[r, :] += x[r, :] @ m for the tile's query rows r (x [nq, kBK], m [nk, D] with row stride ldm),
// each group of rows summed over the keys it may see only (x is 0 past them): P V and dS K.
void rows_times_keys(const Geometry& g, TileGemm gemm_tile, bool whole, int64_t b, int64_t i0, int64_t nq, int64_t j0,
                     int64_t nk, const float* x, const float* m, int64_t ldm, float* c, int64_t ldc) {
  const int64_t D = g.p.head_dim;
  for (int64_t r0 = 0; r0 < nq; r0 += whole ? nq : kGroup) {
    const int64_t rows = whole ? nq : std::min(kGroup, nq - r0);
    const int64_t cols = whole ? nk : g.causal_cols(b, i0 + r0 + rows, j0, nk);
    if (cols > 0) gemm_tile(rows, D, cols, x + r0 * kBK, kBK, 1, m, ldm, c + r0 * ldc, ldc, true);
  }
}

// c[j, :] += x[:, j]^T @ m for the tile's keys j (x [nq, kBK] read transposed, m [nq, D] with row
// stride ldm: query rows i0...), each group of keys summed from the first query that may see it
// (x is 0 before it): P^T dO and dS^T Q.
void keys_times_rows(const Geometry& g, TileGemm gemm_tile, bool whole, int64_t b, int64_t i0, int64_t nq, int64_t j0,
                     int64_t nk, const float* x, const float* m, int64_t ldm, float* c) {
  const int64_t D = g.p.head_dim;
  for (int64_t c0 = 0; c0 < nk; c0 += whole ? nk : kGroup) {
    const int64_t rows = whole ? nk : std::min(kGroup, nk - c0);
    const int64_t r0 = whole ? 0 : std::clamp<int64_t>(g.first_query(b, j0 + c0) - i0, 0, nq);
    if (r0 < nq) gemm_tile(rows, D, nq - r0, x + r0 * kBK + c0, 1, kBK, m + r0 * ldm, ldm, c + c0 * D, D, true);
  }
}

// Sets the entries of a tile row (query i, keys [j0, j0 + nk)) that query i may not see to `fill`.
void mask_row(const Geometry& g, int64_t b, int64_t i, int64_t j0, int64_t nk, float* row, float fill) {
  if (g.p.causal) {  // keys j >= max(q_offset + i + 1, prefix) are hidden
    const int64_t first_hidden = std::max(g.p.q_offset + i + 1, g.prefix(b)) - j0;
    for (int64_t j = std::max<int64_t>(first_hidden, 0); j < nk; ++j) row[j] = fill;
  }
  if (g.p.key_mask) {
    const int32_t* km = g.p.key_mask + b * g.p.kv_capacity + j0;
    for (int64_t j = 0; j < nk; ++j)
      if (km[j] == 0) row[j] = fill;
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// forward

namespace {

constexpr int64_t kDecodeRows = 4;  // at most this many queries: the row-wise decode path
constexpr double kThreadWork = 2.0e6;  // flops below which a parallel_for chunk is not worth a thread

// Portable twins of decode_scores_avx2 / decode_weighted_sum_avx2 (attention_avx2.cpp).
void decode_scores_portable(const float* q, int64_t G, int64_t D, const float* k, int64_t ldk, int64_t nk, float scale,
                            float* s) {
  for (int64_t j = 0; j < nk; ++j)
    for (int64_t g = 0; g < G; ++g) {
      float acc = 0.f;
      for (int64_t d = 0; d < D; ++d) acc += q[g * D + d] * k[j * ldk + d];
      s[g * nk + j] = scale * acc;
    }
}

void decode_weighted_sum_portable(const float* p, int64_t G, int64_t nk, const float* v, int64_t ldk, int64_t D,
                                  float* o) {
  for (int64_t j = 0; j < nk; ++j)
    for (int64_t g = 0; g < G; ++g) {
      const float w = p[g * nk + j];
      if (w != 0.f)
        for (int64_t d = 0; d < D; ++d) o[g * D + d] += w * v[j * ldk + d];
    }
}

// One task per (b, kv head): for each query row, the scores of its G query heads against the
// visible keys, a softmax per head, then the weighted sum of V; each K and V row is read once per
// query row for all G heads.
void attention_forward_rows(const Geometry& g, const float* q, const float* k, const float* v, float* out, float* lse) {
  const AttentionParams& p = g.p;
  const int64_t D = p.head_dim, G = g.group;
  const Isa isa = vec_isa();
  const bool avx512 = isa == Isa::avx512 && D % 16 == 0;
  const bool avx2 = !avx512 && isa != Isa::portable && D % 8 == 0;
  const char* blocks_env = std::getenv("GLMKIT_ATTENTION_DECODE_BLOCKS");
  const bool blocks = !(blocks_env && std::strcmp(blocks_env, "0") == 0);
  // A task reads at most tq * tk keys for G heads (scores and weighted sum: ~4 flops per key and
  // dimension); tasks are grouped so each hand-off to a thread carries ~kThreadWork flops, since
  // waking a pool thread costs more than the work of a short decode (docs/performance.md).
  const double task_flops = 4.0 * static_cast<double>(p.tq * p.tk * G * D);
  const int64_t grain = std::max<int64_t>(1, static_cast<int64_t>(kThreadWork / std::max(1.0, task_flops)));
  parallel_for(p.batch * p.heads_kv, grain, [&](int64_t t0, int64_t t1, int) {
    std::vector<float> s(G * p.tk), o(G * D);
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t b = t / p.heads_kv, hk = t % p.heads_kv;
      for (int64_t i = 0; i < p.tq; ++i) {
        const int64_t nk = g.key_limit(b, i + 1), h0 = hk * G;
        const float* qi = g.qrow(q, b, i, h0);  // the G heads of the group are adjacent
        const float* kb = g.krow(k, b, 0, hk);
        const float* vb = g.krow(v, b, 0, hk);
        if (avx512) attn::decode_scores_avx512(qi, G, D, kb, g.ldk, nk, p.scale, s.data(), blocks);
        else if (avx2) attn::decode_scores_avx2(qi, G, D, kb, g.ldk, nk, p.scale, s.data());
        else decode_scores_portable(qi, G, D, kb, g.ldk, nk, p.scale, s.data());
        for (int64_t h = 0; h < G; ++h) {
          float* sh = s.data() + h * nk;
          mask_row(g, b, i, 0, nk, sh, -INFINITY);
          const float mx = nk > 0 ? vmax(sh, nk) : -INFINITY;
          float* lrow = lse + (b * p.heads_q + h0 + h) * p.tq + i;
          if (mx == -INFINITY) {  // no visible key: weights 0, out 0
            std::fill(sh, sh + nk, 0.f);
            *lrow = -INFINITY;
            continue;
          }
          const float sum = vexp_sum(sh, mx, sh, nk);
          vscale(sh, 1.f / sum, nk);
          *lrow = mx + std::log(sum);
        }
        std::fill(o.begin(), o.end(), 0.f);
        if (avx512) attn::decode_weighted_sum_avx512(s.data(), G, nk, vb, g.ldk, D, o.data(), blocks);
        else if (avx2) attn::decode_weighted_sum_avx2(s.data(), G, nk, vb, g.ldk, D, o.data());
        else decode_weighted_sum_portable(s.data(), G, nk, vb, g.ldk, D, o.data());
        for (int64_t h = 0; h < G; ++h) std::memcpy(g.qrow(out, b, i, h0 + h), o.data() + h * D, sizeof(float) * D);
      }
    }
  });
}

}  // namespace

void attention_forward(const AttentionParams& p, const float* q, const float* k, const float* v, float* out,
                       float* lse) {
  const Geometry g(p);
  if (p.tq <= kDecodeRows) {
    attention_forward_rows(g, q, k, v, out, lse);
    return;
  }
  const int64_t D = p.head_dim;
  const TileGemm gemm_tile = tile_gemm_impl();
  const bool trim = trim_enabled();
  const int64_t tasks = p.batch * p.heads_q * g.nqb;
  parallel_for(tasks, 1, [&](int64_t t0, int64_t t1, int) {
    std::vector<float> kt(D * kBK), s(kBQ * kBK), o(kBQ * D), m(kBQ), l(kBQ);
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t qb = t % g.nqb, h = (t / g.nqb) % p.heads_q, b = t / (g.nqb * p.heads_q);
      const int64_t hk = h / g.group, i0 = qb * kBQ, nq = std::min(kBQ, p.tq - i0);
      std::fill(o.begin(), o.end(), 0.f);
      std::fill(m.begin(), m.end(), -INFINITY);
      std::fill(l.begin(), l.end(), 0.f);
      const int64_t jend = g.key_limit(b, i0 + nq);
      for (int64_t j0 = 0; j0 < jend; j0 += kBK) {
        const int64_t nk = std::min(kBK, p.tk - j0);
        const bool full = g.tile_full(b, i0, j0, j0 + nk), whole = full || !trim;
        pack_transposed(g, k, b, hk, j0, nk, p.scale, kt.data());
        tile_rows(g, whole, b, i0, nq, j0, nk, s.data(), -INFINITY, [&](int64_t r0, int64_t rows, int64_t cols) {
          gemm_tile(rows, cols, D, g.qrow(q, b, i0 + r0, h), g.ldq, 1, kt.data(), kBK, s.data() + r0 * kBK, kBK, false);  // S = Q (scale K)^T
        });
        for (int64_t r = 0; r < nq; ++r) {
          float* sr = s.data() + r * kBK;
          if (!full) mask_row(g, b, i0 + r, j0, nk, sr, -INFINITY);
          const float mnew = std::max(m[r], vmax(sr, nk));
          if (mnew == -INFINITY) {  // nothing visible yet in this row
            std::memset(sr, 0, sizeof(float) * nk);
            continue;
          }
          const float sum = vexp_sum(sr, mnew, sr, nk);  // P = exp(S - m); exp(-inf) = 0 for hidden keys
          const float alpha = std::exp(m[r] - mnew);  // 0 when m was -inf
          if (alpha != 1.f) vscale(o.data() + r * D, alpha, D);
          l[r] = l[r] * alpha + sum;
          m[r] = mnew;
        }
        rows_times_keys(g, gemm_tile, whole, b, i0, nq, j0, nk, s.data(), g.krow(v, b, j0, hk), g.ldk, o.data(), D);  // O += P V
      }
      for (int64_t r = 0; r < nq; ++r) {
        float* dst = out + ((b * p.tq + i0 + r) * p.heads_q + h) * D;
        float* lrow = lse + (b * p.heads_q + h) * p.tq + i0 + r;
        if (l[r] > 0.f) {
          const float inv = 1.f / l[r];
          for (int64_t d = 0; d < D; ++d) dst[d] = o[r * D + d] * inv;
          *lrow = m[r] + std::log(l[r]);
        } else {
          std::memset(dst, 0, sizeof(float) * D);
          *lrow = -INFINITY;
        }
      }
    }
  });
}

// ---------------------------------------------------------------------------------------------
// backward

namespace {

// Per-worker tile buffers of the backward pass.
struct BwdBuffers {
  std::vector<float> kt, vt, p, ds, dk, dv;
  explicit BwdBuffers(int64_t D)
      : kt(D * kBK), vt(D * kBK), p(kBQ * kBK), ds(kBQ * kBK), dk(kBK * D), dv(kBK * D) {}
};

// For query rows [i0, i0 + nq) of head h against the packed key block [j0, j0 + nk) (buf.kt, buf.vt):
//   buf.p  = P = exp(scale q k^T - lse), hidden entries and empty rows 0
//   buf.ds = scale * P o (dO V^T - Delta)
// Returns whether the tile was computed whole (every query sees every key, or trimming is off).
bool backward_tile(const Geometry& g, TileGemm gemm_tile, bool trim, const float* q, const float* lse,
                   const float* dout, const float* delta, int64_t b, int64_t h, int64_t i0, int64_t nq, int64_t j0,
                   int64_t nk, BwdBuffers& buf) {
  const AttentionParams& p = g.p;
  const int64_t D = p.head_dim;
  const bool full = g.tile_full(b, i0, j0, j0 + nk), whole = full || !trim;
  tile_rows(g, whole, b, i0, nq, j0, nk, buf.p.data(), -INFINITY, [&](int64_t r0, int64_t rows, int64_t cols) {
    gemm_tile(rows, cols, D, g.qrow(q, b, i0 + r0, h), g.ldq, 1, buf.kt.data(), kBK, buf.p.data() + r0 * kBK, kBK, false);  // S
  });
  tile_rows(g, whole, b, i0, nq, j0, nk, buf.ds.data(), 0.f, [&](int64_t r0, int64_t rows, int64_t cols) {
    gemm_tile(rows, cols, D, g.qrow(dout, b, i0 + r0, h), g.ldq, 1, buf.vt.data(), kBK, buf.ds.data() + r0 * kBK, kBK, false);  // dP
  });
  for (int64_t r = 0; r < nq; ++r) {
    const int64_t i = i0 + r;
    float* pr = buf.p.data() + r * kBK;
    float* dr = buf.ds.data() + r * kBK;
    const float lrow = lse[(b * p.heads_q + h) * p.tq + i];
    if (lrow == -INFINITY) {
      std::memset(pr, 0, sizeof(float) * nk);
      std::memset(dr, 0, sizeof(float) * nk);
      continue;
    }
    vexp_sum(pr, lrow, pr, nk);
    if (!full) mask_row(g, b, i, j0, nk, pr, 0.f);
    const float di = delta[(b * p.heads_q + h) * p.tq + i];
    for (int64_t j = 0; j < nk; ++j) dr[j] = p.scale * pr[j] * (dr[j] - di);
  }
  return whole;
}

}  // namespace

void attention_backward(const AttentionParams& p, const float* q, const float* k, const float* v, const float* out,
                        const float* lse, const float* dout, float* dq, float* dk, float* dv) {
  const Geometry g(p);
  const int64_t D = p.head_dim;
  const TileGemm gemm_tile = tile_gemm_impl();
  const bool trim = trim_enabled();

  // Delta[b, h, i] = dout_i . out_i   ([B, Hq, Tq], like lse)
  std::vector<float> delta(p.batch * p.heads_q * p.tq);
  parallel_for(p.batch * p.tq, 64, [&](int64_t r0, int64_t r1, int) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t b = r / p.tq, i = r % p.tq;
      for (int64_t h = 0; h < p.heads_q; ++h)
        delta[(b * p.heads_q + h) * p.tq + i] = vdot(g.qrow(dout, b, i, h), g.qrow(out, b, i, h), D);
    }
  });

  // dK/dV of key block [j0, j0 + nk) of kv head hk: loops over the query heads of its group.
  // When dq_too, also dq += dS K for every tile (the caller owns those dq rows).
  auto key_block = [&](BwdBuffers& buf, int64_t b, int64_t hk, int64_t j0, bool dq_too) {
    const int64_t nk = std::min(kBK, p.tk - j0);
    pack_transposed(g, k, b, hk, j0, nk, p.scale, buf.kt.data());
    pack_transposed(g, v, b, hk, j0, nk, 1.f, buf.vt.data());
    std::fill(buf.dk.begin(), buf.dk.end(), 0.f);
    std::fill(buf.dv.begin(), buf.dv.end(), 0.f);
    const int64_t qstart = g.first_query(b, j0) / kBQ * kBQ;
    for (int64_t h = hk * g.group; h < (hk + 1) * g.group; ++h) {
      for (int64_t i0 = qstart; i0 < p.tq; i0 += kBQ) {
        const int64_t nq = std::min(kBQ, p.tq - i0);
        const bool whole = backward_tile(g, gemm_tile, trim, q, lse, dout, delta.data(), b, h, i0, nq, j0, nk, buf);
        // dV += P^T dO ; dK += dS^T Q
        keys_times_rows(g, gemm_tile, whole, b, i0, nq, j0, nk, buf.p.data(), g.qrow(dout, b, i0, h), g.ldq, buf.dv.data());
        keys_times_rows(g, gemm_tile, whole, b, i0, nq, j0, nk, buf.ds.data(), g.qrow(q, b, i0, h), g.ldq, buf.dk.data());
        if (dq_too)  // dQ += dS K
          rows_times_keys(g, gemm_tile, whole, b, i0, nq, j0, nk, buf.ds.data(), g.krow(k, b, j0, hk), g.ldk, g.qrow(dq, b, i0, h), g.ldq);
      }
    }
    for (int64_t j = 0; j < nk; ++j) {
      std::memcpy(g.krow(dk, b, j0 + j, hk), buf.dk.data() + j * D, sizeof(float) * D);
      std::memcpy(g.krow(dv, b, j0 + j, hk), buf.dv.data() + j * D, sizeof(float) * D);
    }
  };

  const int64_t heads_tasks = p.batch * p.heads_kv;
  const bool fused = heads_tasks >= 2 * num_threads() || num_threads() == 1 || g.nkb == 1;
  if (fused) {
    parallel_for(heads_tasks, 1, [&](int64_t t0, int64_t t1, int) {
      BwdBuffers buf(D);
      for (int64_t t = t0; t < t1; ++t) {
        const int64_t b = t / p.heads_kv, hk = t % p.heads_kv;
        for (int64_t h = hk * g.group; h < (hk + 1) * g.group; ++h)
          for (int64_t i = 0; i < p.tq; ++i) std::memset(g.qrow(dq, b, i, h), 0, sizeof(float) * D);
        for (int64_t kb = 0; kb < g.nkb; ++kb) key_block(buf, b, hk, kb * kBK, true);
      }
    });
    return;
  }

  // split: dk/dv per (b, hk, key block), then dq per (b, h, query block).
  parallel_for(heads_tasks * g.nkb, 1, [&](int64_t t0, int64_t t1, int) {
    BwdBuffers buf(D);
    for (int64_t t = t0; t < t1; ++t) key_block(buf, t / (p.heads_kv * g.nkb), (t / g.nkb) % p.heads_kv, (t % g.nkb) * kBK, false);
  });
  parallel_for(p.batch * p.heads_q * g.nqb, 1, [&](int64_t t0, int64_t t1, int) {
    BwdBuffers buf(D);
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t qb = t % g.nqb, h = (t / g.nqb) % p.heads_q, b = t / (g.nqb * p.heads_q);
      const int64_t hk = h / g.group, i0 = qb * kBQ, nq = std::min(kBQ, p.tq - i0);
      for (int64_t r = 0; r < nq; ++r) std::memset(g.qrow(dq, b, i0 + r, h), 0, sizeof(float) * D);
      const int64_t jend = g.key_limit(b, i0 + nq);
      for (int64_t j0 = 0; j0 < jend; j0 += kBK) {
        const int64_t nk = std::min(kBK, p.tk - j0);
        pack_transposed(g, k, b, hk, j0, nk, p.scale, buf.kt.data());
        pack_transposed(g, v, b, hk, j0, nk, 1.f, buf.vt.data());
        const bool whole = backward_tile(g, gemm_tile, trim, q, lse, dout, delta.data(), b, h, i0, nq, j0, nk, buf);
        rows_times_keys(g, gemm_tile, whole, b, i0, nq, j0, nk, buf.ds.data(), g.krow(k, b, j0, hk), g.ldk, g.qrow(dq, b, i0, h), g.ldq);  // dQ += dS K
      }
    }
  });
}

}  // namespace glmkit
