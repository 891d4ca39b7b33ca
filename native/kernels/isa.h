// Run-time choice of the instruction set for the non-GEMM kernels (vector math, softmax and
// cross-entropy through it, attention tiles, RMSNorm, AdamW). The GEMMs choose their own micro-kernel
// per call (gemm.cpp, gemm_bf16.cpp) by the same rule:
//   the widest path the CPU has (AVX-512F/BW/VL/DQ, else AVX2+FMA, else portable loops), capped by
//   GLMKIT_ISA = avx512 | avx2 | portable; a path the CPU lacks falls back to the next one.
// The choice is a process-wide value that binding.cpp refreshes from the environment at every call
// into the addon (one getenv), so a test can switch paths in one process by setting GLMKIT_ISA.
// Kernels read it once per call and pass it down; the threads of one call all see the same path.
#pragma once

namespace glmkit {

enum class Isa { portable = 0, avx2 = 1, avx512 = 2 };

bool cpu_has_avx2_fma();
// AVX-512F/BW/VL/DQ (and AVX2+FMA, which the AVX-512 files also use).
bool cpu_has_avx512();

// The active path for the non-GEMM kernels (cheap: one relaxed atomic load).
Isa vec_isa();
// Re-reads GLMKIT_ISA; called by binding.cpp at each entry.
void refresh_vec_isa();
// "avx512", "avx2+fma" or "portable".
const char* isa_name(Isa isa);

}  // namespace glmkit
