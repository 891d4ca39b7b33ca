#include "threadpool.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace glmkit {
namespace {

thread_local bool tls_in_pool = false;

class Pool {
 public:
  Pool() {
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
    stop_ = false;
    // A new worker starts from the current generation, so it does not mistake the last finished
    // job (before a resize) for a new one.
    for (int i = 1; i < nthreads_; ++i) workers_.emplace_back([this, i, g = generation_] { worker_loop(i, g); });
  }

  void run(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t, int)>& fn) {
    if (n <= 0) return;
    grain = std::max<int64_t>(1, grain);
    int64_t max_chunks = (n + grain - 1) / grain;
    int chunks = static_cast<int>(std::min<int64_t>(nthreads_, max_chunks));
    if (chunks <= 1 || tls_in_pool) {
      fn(0, n, 0);
      return;
    }
    std::lock_guard<std::mutex> job_lock(job_mutex_);  // one job at a time (e.g. several JS threads)
    {
      std::lock_guard<std::mutex> lk(m_);
      fn_ = &fn;
      n_ = n;
      chunks_ = chunks;
      pending_ = chunks - 1;
      error_ = nullptr;
      ++generation_;
    }
    cv_.notify_all();
    tls_in_pool = true;
    run_chunk(0);  // never throws: an exception is kept in error_
    tls_in_pool = false;
    // Every worker finishes its chunk before this returns (fn and what it captures live on the
    // caller's stack); then the first exception of any chunk is rethrown here.
    std::exception_ptr err;
    {
      std::unique_lock<std::mutex> lk(m_);
      done_cv_.wait(lk, [this] { return pending_ == 0; });
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
      {
        std::unique_lock<std::mutex> lk(m_);
        cv_.wait(lk, [&] { return stop_ || generation_ != seen; });
        if (stop_) return;
        seen = generation_;
        if (index >= chunks_) continue;
      }
      run_chunk(index);
      {
        std::lock_guard<std::mutex> lk(m_);
        if (--pending_ == 0) done_cv_.notify_one();
      }
    }
  }

  void stop_workers() {
    {
      std::lock_guard<std::mutex> lk(m_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
  }

  int nthreads_ = 1;
  std::vector<std::thread> workers_;
  std::mutex job_mutex_;
  std::mutex m_;
  std::condition_variable cv_, done_cv_;
  const std::function<void(int64_t, int64_t, int)>* fn_ = nullptr;
  int64_t n_ = 0;
  int chunks_ = 0;
  int pending_ = 0;
  uint64_t generation_ = 0;
  std::exception_ptr error_;  // the first exception thrown by a chunk of the current job
  bool stop_ = false;
};

Pool& pool() {
  static Pool p;
  return p;
}

}  // namespace

int num_threads() { return pool().size(); }
void set_num_threads(int n) { pool().resize(n); }
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t, int)>& fn) {
  pool().run(n, grain, fn);
}

}  // namespace glmkit
