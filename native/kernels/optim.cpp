// Fused optimizer updates: one pass over a parameter, its gradient and its state buffers (all
// contiguous, n elements, one float dtype), split across the pool. The per-element updates and
// their formulas are in optim_update.h (shared with the CUDA kernels).
#include "optim.h"
#include "optim_update.h"

TF_KERNEL_NAMESPACE_BEGIN

namespace {

// Each kernel is a range function over [lo, hi) with __restrict pointers (a lambda's captured
// pointers lose __restrict, and with three or four written streams GCC then gives up vectorising),
// called per chunk by parallel_for.

template <class T, bool kMomentum>
void sgd_range(T* __restrict p, const T* __restrict g, T* __restrict buf, int64_t lo, int64_t hi,
               const SgdParams& h) {
  const SgdUpdate<T> u(h);
  for (int64_t i = lo; i < hi; ++i) u.template apply<kMomentum>(p[i], g[i], kMomentum ? buf + i : nullptr);
}

template <class T, bool kAmsgrad>
void adam_range(T* __restrict p, const T* __restrict g, T* __restrict m, T* __restrict v, T* __restrict vmax,
                int64_t lo, int64_t hi, const AdamParams& h) {
  const AdamUpdate<T> u(h);
  for (int64_t i = lo; i < hi; ++i) u.template apply<kAmsgrad>(p[i], g[i], m[i], v[i], kAmsgrad ? vmax + i : nullptr);
}

template <class T, bool kCentered, bool kMomentum>
void rmsprop_range(T* __restrict p, const T* __restrict g, T* __restrict sq, T* __restrict ga, T* __restrict buf,
                   int64_t lo, int64_t hi, const RmspropParams& h) {
  const RmspropUpdate<T> u(h);
  for (int64_t i = lo; i < hi; ++i)
    u.template apply<kCentered, kMomentum>(p[i], g[i], sq[i], kCentered ? ga + i : nullptr, kMomentum ? buf + i : nullptr);
}

template <class T>
void adagrad_range(T* __restrict p, const T* __restrict g, T* __restrict sum, int64_t lo, int64_t hi,
                   const AdagradParams& h) {
  const AdagradUpdate<T> u(h);
  for (int64_t i = lo; i < hi; ++i) u.apply(p[i], g[i], sum[i]);
}

// Elements per thread: an update streams four to five arrays once, so below ~2^17 elements a second
// thread costs more than it saves (LeNet's fc1, 48K parameters, took longer on two threads than on
// one; this grain made a LeNet training step 1.8% faster in alternating A/B runs).
constexpr int64_t kGrainOptimizer = int64_t(1) << 17;

template <class T, bool kMomentum>
void sgd_t(T* p, const T* g, T* buf, int64_t n, const SgdParams& h) {
  parallel_for(0, n, kGrainOptimizer, [&](int64_t lo, int64_t hi) { sgd_range<T, kMomentum>(p, g, buf, lo, hi, h); });
}
template <class T, bool kAmsgrad>
void adam_t(T* p, const T* g, T* m, T* v, T* vmax, int64_t n, const AdamParams& h) {
  parallel_for(0, n, kGrainOptimizer,
               [&](int64_t lo, int64_t hi) { adam_range<T, kAmsgrad>(p, g, m, v, vmax, lo, hi, h); });
}
template <class T, bool kCentered, bool kMomentum>
void rmsprop_t(T* p, const T* g, T* sq, T* ga, T* buf, int64_t n, const RmspropParams& h) {
  parallel_for(0, n, kGrainOptimizer,
               [&](int64_t lo, int64_t hi) { rmsprop_range<T, kCentered, kMomentum>(p, g, sq, ga, buf, lo, hi, h); });
}
template <class T>
void adagrad_t(T* p, const T* g, T* sum, int64_t n, const AdagradParams& h) {
  parallel_for(0, n, kGrainOptimizer, [&](int64_t lo, int64_t hi) { adagrad_range<T>(p, g, sum, lo, hi, h); });
}

template <class T> T* as(void* q) { return static_cast<T*>(q); }
template <class T> const T* as(const void* q) { return static_cast<const T*>(q); }

}  // namespace

void sgd_step(void* p, const void* g, void* buf, int32_t dtype, int64_t n, const SgdParams& h) {
  if (buf) {
    TF_DISPATCH_FLOAT(dtype, T, sgd_t<T, true>(as<T>(p), as<T>(g), as<T>(buf), n, h));
  } else {
    TF_DISPATCH_FLOAT(dtype, T, sgd_t<T, false>(as<T>(p), as<T>(g), nullptr, n, h));
  }
}

void adam_step(void* p, const void* g, void* exp_avg, void* exp_avg_sq, void* max_exp_avg_sq, int32_t dtype,
               int64_t n, const AdamParams& h) {
  if (max_exp_avg_sq) {
    TF_DISPATCH_FLOAT(dtype, T,
                      adam_t<T, true>(as<T>(p), as<T>(g), as<T>(exp_avg), as<T>(exp_avg_sq), as<T>(max_exp_avg_sq),
                                      n, h));
  } else {
    TF_DISPATCH_FLOAT(dtype, T,
                      adam_t<T, false>(as<T>(p), as<T>(g), as<T>(exp_avg), as<T>(exp_avg_sq), nullptr, n, h));
  }
}

void rmsprop_step(void* p, const void* g, void* square_avg, void* grad_avg, void* buf, int32_t dtype, int64_t n,
                  const RmspropParams& h) {
#define TF_RMSPROP(C, M) \
  TF_DISPATCH_FLOAT(dtype, T, rmsprop_t<T, C, M>(as<T>(p), as<T>(g), as<T>(square_avg), as<T>(grad_avg), as<T>(buf), n, h))
  if (grad_avg && buf) {
    TF_RMSPROP(true, true);
  } else if (grad_avg) {
    TF_RMSPROP(true, false);
  } else if (buf) {
    TF_RMSPROP(false, true);
  } else {
    TF_RMSPROP(false, false);
  }
#undef TF_RMSPROP
}

void adagrad_step(void* p, const void* g, void* sum, int32_t dtype, int64_t n, const AdagradParams& h) {
  TF_DISPATCH_FLOAT(dtype, T, adagrad_t<T>(as<T>(p), as<T>(g), as<T>(sum), n, h));
}

TF_KERNEL_NAMESPACE_END
