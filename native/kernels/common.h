// Shared helpers for the kernel files. Everything here lives in the per-CPU-level namespace
// tf::TF_CPU_LEVEL (see CMakeLists.txt), so each compiled copy keeps its own inline functions.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "../kernels.h"
#include "../parallel.h"

#ifndef TF_CPU_LEVEL
#error "kernel files are compiled with -DTF_CPU_LEVEL=<level>"
#endif

#define TF_KERNEL_NAMESPACE_BEGIN namespace tf { namespace TF_CPU_LEVEL {
#define TF_KERNEL_NAMESPACE_END } }

TF_KERNEL_NAMESPACE_BEGIN

// Items per parallel chunk: below this a loop runs on one thread (waking the pool costs ~µs).
constexpr int64_t kGrainElementwise = 32768;

// Calls f with a value of the C++ type of `dtype` (float, double, int32_t or uint8_t for bool).
#define TF_DISPATCH_ALL(dtype, T, ...)                     \
  switch (dtype) {                                         \
    case kFloat32: { using T = float; __VA_ARGS__; break; }   \
    case kFloat64: { using T = double; __VA_ARGS__; break; }  \
    case kInt32: { using T = int32_t; __VA_ARGS__; break; }   \
    case kBool: { using T = uint8_t; __VA_ARGS__; break; }    \
    default: break;                                        \
  }
#define TF_DISPATCH_FLOAT(dtype, T, ...)                   \
  switch (dtype) {                                         \
    case kFloat32: { using T = float; __VA_ARGS__; break; }   \
    case kFloat64: { using T = double; __VA_ARGS__; break; }  \
    default: break;                                        \
  }

// ---------------------------------------------------------------------------------------------
// Strided N-d iteration over up to 4 operands that share one shape (operand 0 is the output).
//
// The shape is first simplified: size-1 dims dropped, and neighbouring dims merged wherever every
// operand is laid out contiguously across them. Then the element range is split across threads and
// each chunk is walked as runs along the last dim: f(ptrs, byte_strides, n) handles n elements whose
// operand k starts at ptrs[k] and advances by byte_strides[k]. A fully contiguous tensor is one run.
template <int N>
struct StridedIter {
  int ndim = 0;
  int64_t shape[kMaxDims];
  int64_t strides[N][kMaxDims];  // in bytes
  char* base[N];

  StridedIter(const TensorView* const views[N]) {
    const TensorView& o = *views[0];
    for (int k = 0; k < N; ++k) base[k] = static_cast<char*>(views[k]->data);
    for (int d = 0; d < o.ndim; ++d) {
      if (o.shape[d] == 1) continue;
      bool merge = ndim > 0;
      for (int k = 0; k < N && merge; ++k) {
        int64_t s = views[k]->strides[d] * dtype_size(views[k]->dtype);
        merge = strides[k][ndim - 1] == s * o.shape[d];
      }
      if (merge) {
        shape[ndim - 1] *= o.shape[d];
        for (int k = 0; k < N; ++k) strides[k][ndim - 1] = views[k]->strides[d] * dtype_size(views[k]->dtype);
      } else {
        shape[ndim] = o.shape[d];
        for (int k = 0; k < N; ++k) strides[k][ndim] = views[k]->strides[d] * dtype_size(views[k]->dtype);
        ++ndim;
      }
    }
    if (ndim == 0) {  // a single element
      shape[0] = 1;
      for (int k = 0; k < N; ++k) strides[k][0] = 0;
      ndim = 1;
    }
    for (int d = 0; d < ndim; ++d)
      if (shape[d] == 0) empty = true;
  }

  int64_t numel() const {
    if (empty) return 0;
    int64_t n = 1;
    for (int d = 0; d < ndim; ++d) n *= shape[d];
    return n;
  }

  template <class F>
  void for_each_run(const F& f, int64_t grain = kGrainElementwise) const {
    const int64_t total = numel();
    if (total == 0) return;
    parallel_for(0, total, grain, [&](int64_t lo, int64_t hi) { walk(lo, hi, f); });
  }

  bool empty = false;

 private:
  template <class F>
  void walk(int64_t lo, int64_t hi, const F& f) const {
    int64_t idx[kMaxDims];
    char* ptrs[N];
    int64_t rem = lo;
    for (int d = ndim - 1; d >= 0; --d) {
      idx[d] = rem % shape[d];
      rem /= shape[d];
    }
    for (int k = 0; k < N; ++k) {
      ptrs[k] = base[k];
      for (int d = 0; d < ndim; ++d) ptrs[k] += idx[d] * strides[k][d];
    }
    const int last = ndim - 1;
    int64_t inner[N];
    for (int k = 0; k < N; ++k) inner[k] = strides[k][last];
    int64_t pos = lo;
    while (pos < hi) {
      int64_t n = shape[last] - idx[last];
      if (n > hi - pos) n = hi - pos;
      f(ptrs, inner, n);
      pos += n;
      if (pos >= hi) break;
      // Advance the odometer by n along the last dim, carrying into outer dims.
      for (int k = 0; k < N; ++k) ptrs[k] += n * inner[k];
      idx[last] += n;
      for (int d = last; d > 0 && idx[d] == shape[d]; --d) {
        idx[d] = 0;
        ++idx[d - 1];
        for (int k = 0; k < N; ++k) ptrs[k] += strides[k][d - 1] - shape[d] * strides[k][d];
      }
    }
  }
};

// Stable floating-point helpers used by several kernels.
template <class T> inline T sigmoid(T x) {
  // Branch on the sign so exp never overflows.
  if (x >= T(0)) return T(1) / (T(1) + std::exp(-x));
  T e = std::exp(x);
  return e / (T(1) + e);
}

TF_KERNEL_NAMESPACE_END
