#include "threadpool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace glmkit {
namespace {

thread_local bool tls_in_pool = false;
thread_local bool tls_caller_inline = false;

// Waking a sleeping thread costs tens of microseconds on a VM, and a training step of a small model
// makes hundreds of parallel_for calls a few hundred microseconds apart. GLMKIT_SPIN_US > 0 lets both
// sides spin that long before sleeping (a worker polls for the next job, the caller for the workers to
// finish). Off by default: on a 2-core machine shared with other work, a spinning worker took the core
// from the thread it waited for (decode at batch 8, 2 threads: 2.8k tokens/s with 200 us of spin,
// 5.1k without, 2026-12-05, docs/performance.md).
int spin_microseconds() {
  const char* env = std::getenv("GLMKIT_SPIN_US");
  if (!env) return 0;
  int v = std::atoi(env);
  return v < 0 ? 0 : v;
}

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// Spins until done() or the spin budget is spent; true when done() held.
template <typename Pred>
bool spin_until(Pred done, int budget_us) {
  if (budget_us <= 0) return done();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(budget_us);
  for (int i = 0;; ++i) {
    if (done()) return true;
    cpu_relax();
    if ((i & 63) == 63 && std::chrono::steady_clock::now() > deadline) return done();
  }
}

class Pool {
 public:
  Pool() : spin_us_(spin_microseconds()) {
    int n = 0;
    if (const char* env = std::getenv("GLMKIT_THREADS")) n = std::atoi(env);
    if (n <= 0) n = static_cast<int>(std::thread::hardware_concurrency());
    if (n <= 0) n = 1;
    resize(n);
  }
  ~Pool() { stop_workers(); }

  int size() const { return nthreads_; }

  void resize(int n) {
    std::lock_guard<std::mutex> job_lock(job_mutex_);
    stop_workers();
    nthreads_ = std::max(1, n);
    stop_.store(false);
    for (int i = 1; i < nthreads_; ++i) workers_.emplace_back([this, i, g = generation_.load()] { worker_loop(i, g); });
  }

  void run(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t, int)>& fn) {
    if (n <= 0) return;
    grain = std::max<int64_t>(1, grain);
    int64_t max_chunks = (n + grain - 1) / grain;
    int chunks = static_cast<int>(std::min<int64_t>(nthreads_, max_chunks));
    if (chunks <= 1 || tls_in_pool || tls_caller_inline) {
      fn(0, n, 0);
      return;
    }
    std::lock_guard<std::mutex> job_lock(job_mutex_);  // one job at a time (e.g. several JS threads)
    {
      // the job is published under m_, so a worker reads (generation, chunks) of one job together
      std::lock_guard<std::mutex> lk(m_);
      fn_ = &fn;
      n_ = n;
      chunks_ = chunks;
      pending_.store(chunks - 1);
      error_ = nullptr;
      generation_.fetch_add(1, std::memory_order_release);
    }
    cv_.notify_all();
    tls_in_pool = true;
    run_chunk(0);  // never throws: an exception is kept in error_
    tls_in_pool = false;
    if (!spin_until([this] { return pending_.load(std::memory_order_acquire) == 0; }, spin_us_)) {
      std::unique_lock<std::mutex> lk(m_);
      done_cv_.wait(lk, [this] { return pending_.load() == 0; });
    }
    std::exception_ptr err;
    {
      std::lock_guard<std::mutex> lk(m_);
      fn_ = nullptr;
      err = error_;
      error_ = nullptr;
    }
    if (err) std::rethrow_exception(err);
  }

 private:
  void run_chunk(int i) noexcept {
    int64_t per = n_ / chunks_, rem = n_ % chunks_;
    int64_t begin = i * per + std::min<int64_t>(i, rem);
    int64_t end = begin + per + (i < rem ? 1 : 0);
    try {
      (*fn_)(begin, end, i);
    } catch (...) {
      std::lock_guard<std::mutex> lk(m_);
      if (!error_) error_ = std::current_exception();
    }
  }

  void worker_loop(int index, uint64_t seen) {
    tls_in_pool = true;
    for (;;) {
      spin_until([&] { return stop_.load(std::memory_order_relaxed) || generation_.load(std::memory_order_acquire) != seen; }, spin_us_);
      {
        std::unique_lock<std::mutex> lk(m_);
        cv_.wait(lk, [&] { return stop_.load() || generation_.load() != seen; });
        if (stop_.load()) return;
        seen = generation_.load();
        if (index >= chunks_) continue;
      }
      run_chunk(index);
      if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        std::lock_guard<std::mutex> lk(m_);  // the caller may be about to sleep on done_cv_
        done_cv_.notify_one();
      }
    }
  }

  void stop_workers() {
    {
      std::lock_guard<std::mutex> lk(m_);
      stop_.store(true);
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
  }

  const int spin_us_;
  int nthreads_ = 1;
  std::vector<std::thread> workers_;
  std::mutex job_mutex_;
  std::mutex m_;
  std::condition_variable cv_, done_cv_;
  const std::function<void(int64_t, int64_t, int)>* fn_ = nullptr;
  int64_t n_ = 0;
  int chunks_ = 0;
  std::atomic<int> pending_{0};
  std::atomic<uint64_t> generation_{0};
  std::exception_ptr error_;  // the first exception thrown by a chunk of the current job
  std::atomic<bool> stop_{false};
};

Pool& pool() {
  static Pool p;
  return p;
}

}  // namespace

int num_threads() { return tls_caller_inline ? 1 : pool().size(); }
void set_caller_inline(bool inline_only) { tls_caller_inline = inline_only; }
void set_num_threads(int n) { pool().resize(n); }
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t, int)>& fn) {
  pool().run(n, grain, fn);
}

}  // namespace glmkit
