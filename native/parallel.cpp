// Thread pool behind parallel_for (see parallel.h). One job at a time: the calling thread publishes a
// job, wakes the workers, takes chunk 0 itself and waits for the rest.
#include "parallel.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <memory>
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

// How long an idle worker polls for the next job before sleeping. A training step issues its ops
// microseconds to a few hundred apart (JS work, autograd bookkeeping, the GC in between), and a
// sleeping worker costs a futex wake-up per op: on a virtual machine that wake-up is slow enough
// that the caller finishes a small op alone before the worker arrives. Measured on a 2-core VM, a
// LeNet step took 7.6 ms with ~90 us of spinning (2000 pauses, as long as one thread) and 6.0 ms
// with 1 ms. Time, not a pause count: a pause lasts 10 to 140 cycles depending on the CPU.
constexpr auto kWorkerSpin = std::chrono::microseconds(1000);

// After spinning, an idle worker naps for kWorkerNapping (sleeps of kWorkerNap, polling for a job
// between them) before it blocks on the condition variable. A blocked worker has to be woken by the
// caller, and on this VM that futex wake-up takes the caller ~29 us (the worker runs ~73 us later):
// a 128^3 matmul on two threads called every 3 ms took 57 us, against 13 us back to back and 24 us
// on one thread. A napping worker needs no wake-up: it takes the job's chunks if it comes in time,
// else the caller has run them all itself: 27 us. Napping costs ~10% of a core here while it lasts
// (a sleep is a timer interrupt; measured as process CPU in 300 ms idle after a burst of ops: 12.8
// ms, against 3.3 ms with no naps).
constexpr auto kWorkerNap = std::chrono::microseconds(100);
constexpr auto kWorkerNapping = std::chrono::milliseconds(100);

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
    homes_.reset(new std::atomic<uint64_t>[n]);
    for (int h = 0; h < n; ++h) homes_[h].store(0);  // empty ranges
    stop_ = false;
    // Workers start from the current generation: one that starts after the first job was published
    // must still run it.
    const uint64_t gen = generation_.load();
    for (int i = 1; i < n; ++i) workers_.emplace_back([this, gen] { worker_loop(gen); });
  }

  // Chunks are claimed, not assigned. Each thread has a home range of them (the caller the last,
  // workers the others in the order they arrive), claims those first and then whatever the other
  // ranges still hold: a thread slowed by something else on the machine, or a worker that wakes
  // late, leaves its chunks to the others (when the machine is busy and no worker gets a core in
  // time, the caller runs them all, so a parallel op is never slower than a serial one for lack of
  // a core), while consecutive ops over the same range give each thread the same part of it (what
  // it wrote stays in its caches).
  void run(int64_t begin, int64_t end, int64_t grain, RangeFn fn, void* ctx, int chunks_per_thread) {
    std::lock_guard<std::mutex> run_lock(run_mutex_);  // one job at a time (callers may be many threads)
    const int64_t n = end - begin;
    int64_t chunks = n / (grain > 0 ? grain : 1);
    const int64_t max_chunks = int64_t(nthreads_) * (chunks_per_thread > 1 ? chunks_per_thread : 1);
    if (chunks > max_chunks) chunks = max_chunks;
    if (chunks <= 1) {
      tls_in_parallel = true;
      fn(ctx, begin, end);
      tls_in_parallel = false;
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      job_ = Job{begin, end, chunks, fn, ctx};
      done_.store(0, std::memory_order_relaxed);
      arrived_.store(0, std::memory_order_relaxed);
      for (int h = 0; h < nthreads_; ++h)
        homes_[h].store(pack_range(chunks * h / nthreads_, chunks * (h + 1) / nthreads_), std::memory_order_release);
      generation_.fetch_add(1, std::memory_order_release);
    }
    cv_.notify_all();
    tls_in_parallel = true;
    int64_t c;
    while ((c = claim(nthreads_ - 1)) >= 0) {
      run_chunk(c);
      done_.fetch_add(1, std::memory_order_acq_rel);
    }
    tls_in_parallel = false;
    // Wait for chunks still running on workers: spinning (a wake-up costs as much as a small op),
    // then sleeping.
    const auto spin_until = std::chrono::steady_clock::now() + kWorkerSpin;
    for (int spin = 0; done_.load(std::memory_order_acquire) != chunks; ++spin) {
      if ((spin & 63) != 63 || std::chrono::steady_clock::now() < spin_until) {
        TF_CPU_RELAX();
      } else {
        std::unique_lock<std::mutex> lock(mutex_);
        done_cv_.wait(lock, [&] { return done_.load(std::memory_order_acquire) == chunks; });
      }
    }
  }

 private:
  struct Job {
    int64_t begin = 0, end = 0, chunks = 0;
    RangeFn fn = nullptr;
    void* ctx = nullptr;
  };

  // A home range of chunks [next, end) in one word, so a claim is one fetch_add that reads the end
  // of the same publication as the index it takes (a worker still looking at the previous job can
  // only take a chunk of the new one, which is then current).
  static uint64_t pack_range(int64_t next, int64_t end) { return uint64_t(end) << 32 | uint64_t(next); }

  // The next unclaimed chunk, home range `home` first, then the others in turn; -1 when none is left.
  int64_t claim(int home) {
    for (int i = 0; i < nthreads_; ++i) {
      std::atomic<uint64_t>& range = homes_[(home + i) % nthreads_];
      const uint64_t seen = range.load(std::memory_order_relaxed);
      if ((seen & 0xffffffffu) >= seen >> 32) continue;  // spent: no fetch_add that would only push it past its end
      const uint64_t r = range.fetch_add(1, std::memory_order_acq_rel);
      if ((r & 0xffffffffu) < r >> 32) return int64_t(r & 0xffffffffu);
    }
    return -1;
  }

  void run_chunk(int64_t c) {
    const int64_t n = job_.end - job_.begin;
    const int64_t lo = job_.begin + n * c / job_.chunks;
    const int64_t hi = job_.begin + n * (c + 1) / job_.chunks;
    if (lo < hi) job_.fn(job_.ctx, lo, hi);
  }

  void worker_loop(uint64_t seen) {
    tls_in_parallel = true;
    for (;;) {
      // Spin a little for the next job (ops come back to back in a training step), then sleep.
      const auto spin_until = std::chrono::steady_clock::now() + kWorkerSpin;
      for (int spin = 0; generation_.load(std::memory_order_acquire) == seen && !stop_.load(std::memory_order_acquire);
           ++spin) {
        if ((spin & 63) == 63 && std::chrono::steady_clock::now() > spin_until) break;
        TF_CPU_RELAX();
      }
      const auto nap_until = std::chrono::steady_clock::now() + kWorkerNapping;
      while (generation_.load(std::memory_order_acquire) == seen && !stop_.load(std::memory_order_acquire) &&
             std::chrono::steady_clock::now() < nap_until)
        std::this_thread::sleep_for(kWorkerNap);
      {
        std::unique_lock<std::mutex> lock(mutex_);
        cv_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen || stop_.load(); });
        if (stop_.load()) return;
        seen = generation_.load(std::memory_order_acquire);
      }
      // Home ranges 0 .. n-2 in order of arrival (the caller has n-1). A claim is only ever made on
      // the job current at that moment: the caller publishes a new job only after every claimed
      // chunk of the previous one is done.
      const int home = int(arrived_.fetch_add(1, std::memory_order_relaxed) % (nthreads_ > 1 ? nthreads_ - 1 : 1));
      int64_t c;
      while ((c = claim(home)) >= 0) {
        const int64_t chunks = job_.chunks;
        run_chunk(c);
        if (done_.fetch_add(1, std::memory_order_acq_rel) + 1 == chunks) {
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
  std::atomic<int64_t> done_{0}, arrived_{0};
  std::unique_ptr<std::atomic<uint64_t>[]> homes_;  // per thread: its home range of chunks (pack_range)
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

void parallel_for_impl(int64_t begin, int64_t end, int64_t grain, RangeFn fn, void* ctx, int chunks_per_thread) {
  pool().run(begin, end, grain, fn, ctx, chunks_per_thread);
}
int num_threads() { return pool().size(); }
void set_num_threads(int n) { pool().resize(n); }
bool in_parallel_region() { return tls_in_parallel; }

}  // namespace tf
