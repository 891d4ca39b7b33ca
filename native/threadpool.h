// One process-wide thread pool. Work is split statically (chunk i always goes to the same
// worker index for a given thread count), so results are deterministic for a fixed GLMKIT_THREADS.
#pragma once
#include <cstdint>
#include <functional>

namespace glmkit {

// Number of threads used by parallel_for (>= 1). Initialised from GLMKIT_THREADS, else all cores.
// On a thread that called set_caller_inline(true), this is 1.
int num_threads();
void set_num_threads(int n);

// Makes every parallel_for called from this thread run inline on it (the pool is not used), or
// restores the default. Generation workers (src/generation/parallel-generate.ts) run one JS thread
// per core, each doing its own share of the rows single-threaded.
void set_caller_inline(bool inline_only);

// Calls fn(begin, end, worker) on contiguous ranges covering [0, n); ranges are at least `grain`
// long (except possibly the last). Runs inline when n is small or only one thread is set.
// Blocks until every range is done. Re-entrant calls (from inside fn) run inline.
// If fn throws in any range (on the calling thread or a worker), the other ranges still run to the
// end, then the first exception is rethrown to the caller: no worker outlives the call.
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t, int)>& fn);

}  // namespace glmkit
