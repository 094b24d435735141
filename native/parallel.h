// The one thread pool every op shares.
//
//   parallel_for(begin, end, grain, [&](int64_t lo, int64_t hi) { ... });
//
// splits [begin, end) into at most num_threads() contiguous chunks of at least `grain` items and
// runs them on the pool, the calling thread included. Ranges smaller than `grain`, and calls made
// from inside a parallel region, run inline on the caller: nested parallelism never oversubscribes.
// Workers sleep on a condition variable when idle (after a short spin), so they do not compete with
// the JS thread.
#pragma once
#include <cstdint>

namespace tf {

using RangeFn = void (*)(void* ctx, int64_t lo, int64_t hi);
void parallel_for_impl(int64_t begin, int64_t end, int64_t grain, RangeFn fn, void* ctx);
int num_threads();
void set_num_threads(int n);
bool in_parallel_region();

template <class F>
inline void parallel_for(int64_t begin, int64_t end, int64_t grain, const F& f) {
  if (end <= begin) return;
  if (end - begin <= grain || in_parallel_region() || num_threads() == 1) {
    f(begin, end);
    return;
  }
  parallel_for_impl(begin, end, grain,
                    [](void* ctx, int64_t lo, int64_t hi) { (*static_cast<const F*>(ctx))(lo, hi); },
                    const_cast<F*>(&f));
}

}  // namespace tf
