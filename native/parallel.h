// The one thread pool every op shares.
//
//   parallel_for(begin, end, grain, [&](int64_t lo, int64_t hi) { ... });
//
// splits [begin, end) into at most num_threads() contiguous chunks of at least `grain` items and
// runs them on the pool, the calling thread included. Ranges smaller than `grain`, and calls made
// from inside a parallel region, run inline on the caller: nested parallelism never oversubscribes.
// Workers sleep on a condition variable when idle (after a short spin), so they do not compete with
// the JS thread.
//
//   parallel_for_balanced(begin, end, grain, f)
//
// splits into up to kBalancedChunks chunks per thread instead: each thread runs its own share first
// (the same share as parallel_for's), then takes chunks the others have not started. For loops of
// many like items with little set up per chunk: a thread slowed by something else on the machine
// (V8's GC and compiler threads share these cores; a sleeping worker wakes late on a VM) leaves
// part of its share to the others instead of holding up the op. Measured against one chunk per
// thread (A/B in one process, 2 threads, forward + backward, three runs): ResNet-18 3x3 layers
// 1.00-1.21x, depthwise 3x3 1.00-1.04x, the 7x7 stem 0.98x (even).
#pragma once
#include <cstdint>

namespace tf {

using RangeFn = void (*)(void* ctx, int64_t lo, int64_t hi);
void parallel_for_impl(int64_t begin, int64_t end, int64_t grain, RangeFn fn, void* ctx, int chunks_per_thread);
constexpr int kBalancedChunks = 4;
int num_threads();
void set_num_threads(int n);
bool in_parallel_region();

// parallel_for with up to chunks_per_thread chunks per thread.
template <class F>
inline void parallel_for_chunked(int64_t begin, int64_t end, int64_t grain, int chunks_per_thread, const F& f) {
  if (end <= begin) return;
  if (end - begin <= grain || in_parallel_region() || num_threads() == 1) {
    f(begin, end);
    return;
  }
  parallel_for_impl(begin, end, grain,
                    [](void* ctx, int64_t lo, int64_t hi) { (*static_cast<const F*>(ctx))(lo, hi); },
                    const_cast<F*>(&f), chunks_per_thread);
}

template <class F>
inline void parallel_for(int64_t begin, int64_t end, int64_t grain, const F& f) {
  parallel_for_chunked(begin, end, grain, 1, f);
}

template <class F>
inline void parallel_for_balanced(int64_t begin, int64_t end, int64_t grain, const F& f) {
  parallel_for_chunked(begin, end, grain, kBalancedChunks, f);
}

}  // namespace tf
