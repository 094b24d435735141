// Thread pool behind parallel_for (see parallel.h). One job at a time: the calling thread publishes a
// job, wakes the workers, takes chunk 0 itself and waits for the rest.
#include "parallel.h"

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define TF_CPU_RELAX() _mm_pause()
#else
#define TF_CPU_RELAX() ((void)0)
#endif

namespace tf {
namespace {

thread_local bool tls_in_parallel = false;

class ThreadPool {
 public:
  explicit ThreadPool(int n) { resize(n); }
  ~ThreadPool() { stop_workers(); }

  int size() const { return nthreads_; }

  void resize(int n) {
    if (n < 1) n = 1;
    std::lock_guard<std::mutex> run_lock(run_mutex_);
    stop_workers();
    nthreads_ = n;
    stop_ = false;
    // Workers start from the current generation: one that starts after the first job was published
    // must still run it.
    const uint64_t gen = generation_.load();
    for (int i = 1; i < n; ++i) workers_.emplace_back([this, i, gen] { worker_loop(i, gen); });
  }

  void run(int64_t begin, int64_t end, int64_t grain, RangeFn fn, void* ctx) {
    std::lock_guard<std::mutex> run_lock(run_mutex_);  // one job at a time (callers may be many threads)
    int64_t n = end - begin;
    int64_t chunks = n / (grain > 0 ? grain : 1);
    if (chunks > nthreads_) chunks = nthreads_;
    if (chunks < 1) chunks = 1;
    if (chunks == 1) {
      tls_in_parallel = true;
      fn(ctx, begin, end);
      tls_in_parallel = false;
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      job_ = Job{begin, end, chunks, fn, ctx};
      pending_.store(static_cast<int>(chunks) - 1, std::memory_order_relaxed);
      generation_.fetch_add(1, std::memory_order_release);
    }
    cv_.notify_all();
    tls_in_parallel = true;
    run_chunk(0);
    tls_in_parallel = false;
    // Wait for the workers' chunks; they finish in microseconds for the small ops, so spin first.
    for (int spin = 0; pending_.load(std::memory_order_acquire) != 0; ++spin) {
      if (spin < 200000) {
        TF_CPU_RELAX();
      } else {
        std::unique_lock<std::mutex> lock(mutex_);
        done_cv_.wait(lock, [this] { return pending_.load(std::memory_order_acquire) == 0; });
      }
    }
  }

 private:
  struct Job {
    int64_t begin = 0, end = 0, chunks = 0;
    RangeFn fn = nullptr;
    void* ctx = nullptr;
  };

  void run_chunk(int64_t c) {
    int64_t n = job_.end - job_.begin;
    int64_t lo = job_.begin + n * c / job_.chunks;
    int64_t hi = job_.begin + n * (c + 1) / job_.chunks;
    if (lo < hi) job_.fn(job_.ctx, lo, hi);
  }

  void worker_loop(int index, uint64_t seen) {
    tls_in_parallel = true;
    for (;;) {
      // Spin a little for the next job (ops come back to back in a training step), then sleep.
      int spin = 0;
      while (generation_.load(std::memory_order_acquire) == seen && !stop_.load(std::memory_order_acquire) &&
             spin < 20000) {
        TF_CPU_RELAX();
        ++spin;
      }
      {
        std::unique_lock<std::mutex> lock(mutex_);
        cv_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen || stop_.load(); });
        if (stop_.load()) return;
        seen = generation_.load(std::memory_order_acquire);
      }
      if (index < job_.chunks) {
        run_chunk(index);
        if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
          std::lock_guard<std::mutex> lock(mutex_);
          done_cv_.notify_one();
        }
      }
    }
  }

  void stop_workers() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& w : workers_) w.join();
    workers_.clear();
  }

  int nthreads_ = 1;
  std::vector<std::thread> workers_;
  std::mutex run_mutex_, mutex_;
  std::condition_variable cv_, done_cv_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
  Job job_;
};

int default_threads() {
  if (const char* env = std::getenv("TENSORFORGE_NUM_THREADS")) {
    int n = std::atoi(env);
    if (n > 0) return n;
  }
  unsigned hc = std::thread::hardware_concurrency();
  return hc > 0 ? static_cast<int>(hc) : 1;
}

ThreadPool& pool() {
  // Deliberately leaked: worker threads must not be joined from a static destructor at exit.
  static ThreadPool* p = new ThreadPool(default_threads());
  return *p;
}

}  // namespace

void parallel_for_impl(int64_t begin, int64_t end, int64_t grain, RangeFn fn, void* ctx) {
  pool().run(begin, end, grain, fn, ctx);
}
int num_threads() { return pool().size(); }
void set_num_threads(int n) { pool().resize(n); }
bool in_parallel_region() { return tls_in_parallel; }

}  // namespace tf
