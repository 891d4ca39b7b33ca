// The run-time instruction-set choice of isa.h.
#include "isa.h"

#include <atomic>
#include <cstdlib>
#include <cstring>

namespace glmkit {

namespace {

Isa choose() {
  const char* forced = std::getenv("GLMKIT_ISA");
  if (forced && std::strcmp(forced, "portable") == 0) return Isa::portable;
  const bool allow512 = !forced || std::strcmp(forced, "avx2") != 0;
  if (allow512 && cpu_has_avx512()) return Isa::avx512;
  return cpu_has_avx2_fma() ? Isa::avx2 : Isa::portable;
}

std::atomic<int> g_isa{static_cast<int>(choose())};

}  // namespace

#if defined(__x86_64__) || defined(__i386__)
bool cpu_has_avx2_fma() {
  static const bool has = (__builtin_cpu_init(), __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"));
  return has;
}

bool cpu_has_avx512() {
  static const bool has = cpu_has_avx2_fma() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
  return has;
}
#else
bool cpu_has_avx2_fma() { return false; }
bool cpu_has_avx512() { return false; }
#endif

Isa vec_isa() { return static_cast<Isa>(g_isa.load(std::memory_order_relaxed)); }

void refresh_vec_isa() { g_isa.store(static_cast<int>(choose()), std::memory_order_relaxed); }

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::avx512: return "avx512";
    case Isa::avx2: return "avx2+fma";
    default: return "portable";
  }
}

}  // namespace glmkit
