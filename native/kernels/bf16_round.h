// float32 -> bfloat16 rounding as AVX512_BF16's vcvtneps2bf16 does it (nearest even, a denormal input
// becomes a signed zero, NaN stays a quiet NaN), in scalar code: the bf16-compute GEMM's packing
// (gemm_mixed_avx512.cpp, its any-stride path) and its rounded-panel fallback (gemm.cpp) share it.
// Everything sits in an anonymous namespace, so each file keeps its own copy built with its flags.
#pragma once
#include <cstdint>
#include <cstring>

namespace glmkit {
namespace {

// The bf16 bits of x, in the low 16 bits.
inline uint32_t bf16_bits_daz(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  if ((u & 0x7F800000u) == 0) return (u >> 16) & 0x8000u;
  if ((u & 0x7FFFFFFFu) > 0x7F800000u) return ((u >> 16) | 0x40u) & 0xFFFFu;
  return (u + 0x7FFFu + ((u >> 16) & 1u)) >> 16;
}

// x rounded to the nearest bf16 value, as float32.
inline float round_bf16_daz(float x) {
  const uint32_t u = bf16_bits_daz(x) << 16;
  float r;
  std::memcpy(&r, &u, 4);
  return r;
}

}  // namespace
}  // namespace glmkit
