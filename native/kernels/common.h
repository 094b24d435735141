// Shared helpers for the kernel files. Everything here lives in the per-CPU-level namespace
// tf::TF_CPU_LEVEL (see CMakeLists.txt), so each compiled copy keeps its own inline functions.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "../kernel_types.h"
#include "../parallel.h"
#include "dispatch.h"

#ifndef TF_CPU_LEVEL
#error "kernel files are compiled with -DTF_CPU_LEVEL=<level>"
#endif

#define TF_KERNEL_NAMESPACE_BEGIN namespace tf { namespace TF_CPU_LEVEL {
#define TF_KERNEL_NAMESPACE_END } }

TF_KERNEL_NAMESPACE_BEGIN

// Items per parallel chunk: below this a loop runs on one thread (waking the pool costs ~µs).
constexpr int64_t kGrainElementwise = 32768;

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

// ---------------------------------------------------------------------------------------------
// Vectorisable float32 exp and tanh (Cephes-style: range reduction plus a minimax polynomial, about
// 1-2 ulp). libm's expf/tanhf are scalar calls that stop GCC from vectorising a loop; these are
// branch-free, so loops over them compile to AVX2/AVX-512 code. float64 keeps libm.
__attribute__((always_inline)) inline float exp_fast(float x) {
  const float kLog2e = 1.44269504088896341f, kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;
  const bool nan = x != x;
  const bool over = x > 88.7228391f, under = x < -87.3365448f;
  float xc = x > 88.7228391f ? 88.7228391f : (x < -87.3365448f ? -87.3365448f : x);
  const float n = __builtin_floorf(xc * kLog2e + 0.5f);
  float r = xc - n * kLn2Hi;
  r = r - n * kLn2Lo;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float y = p * r * r + r + 1.0f;
  const int32_t e = int32_t(n) + 127;
  const uint32_t bits = uint32_t(e) << 23;
  float scale;
  __builtin_memcpy(&scale, &bits, 4);
  float result = y * scale;
  result = over ? __builtin_inff() : result;
  result = under ? 0.0f : result;
  return nan ? x : result;
}

__attribute__((always_inline)) inline float tanh_fast(float x) {
  const float ax = x < 0 ? -x : x;
  // Small |x|: odd polynomial (no cancellation); large: 1 - 2 / (exp(2|x|) + 1).
  const float z = x * x;
  float p = -5.70498872745e-3f;
  p = p * z + 2.06390887954e-2f;
  p = p * z - 5.37397155531e-2f;
  p = p * z + 1.33314422036e-1f;
  p = p * z - 3.33332819422e-1f;
  const float small = p * z * x + x;
  const float big = 1.0f - 2.0f / (exp_fast(2.0f * ax) + 1.0f);
  const float signed_big = x < 0 ? -big : big;
  return ax < 0.625f ? small : (x != x ? x : signed_big);
}

// erf as x P(x^2) / Q(x^2) on [-4, 4] (erf is +-1 to float precision beyond): a minimax rational
// fit, within 4.2e-7 of erf everywhere (measured against libm), branch-free so it vectorises.
__attribute__((always_inline)) inline float erf_fast(float x) {
  x = x < -4.f ? -4.f : (x > 4.f ? 4.f : x);
  const float x2 = x * x;
  float p = -2.72614225801306e-10f;
  p = p * x2 + 2.77068142495902e-08f;
  p = p * x2 - 2.10102402082508e-06f;
  p = p * x2 - 5.69250639462346e-05f;
  p = p * x2 - 7.34990630326855e-04f;
  p = p * x2 - 2.95459980854025e-03f;
  p = p * x2 - 1.60960333262415e-02f;
  float q = -1.45660718464996e-05f;
  q = q * x2 - 2.13374055278905e-04f;
  q = q * x2 - 1.68282697438203e-03f;
  q = q * x2 - 7.37332916720468e-03f;
  q = q * x2 - 1.42647390514189e-02f;
  return x * p / q;
}

template <class T> inline T exp_(T x) { return std::exp(x); }
template <class T> inline T erf_(T x) { return std::erf(x); }
template <> __attribute__((always_inline)) inline float erf_<float>(float x) { return erf_fast(x); }
template <> __attribute__((always_inline)) inline float exp_<float>(float x) { return exp_fast(x); }
template <class T> inline T tanh_(T x) { return std::tanh(x); }
template <> __attribute__((always_inline)) inline float tanh_<float>(float x) { return tanh_fast(x); }

// Sigmoid without overflow: exp(-|x|) is at most 1.
template <class T> inline T sigmoid(T x) {
  const T e = exp_(x < T(0) ? x : -x);
  const T pos = T(1) / (T(1) + e);
  return x >= T(0) ? pos : e * pos;  // e / (1 + e): no cancellation for very negative x
}

TF_KERNEL_NAMESPACE_END

TF_KERNEL_NAMESPACE_BEGIN
// Sum of a contiguous run with 16 independent partial sums, which GCC vectorises without
// reassociating (a single running sum would serialise on the add latency). Accumulates in A.
template <class T, class A = T>
inline A sum_contiguous(const T* p, int64_t n) {
  A part[16] = {};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int j = 0; j < 16; ++j) part[j] += A(p[i + j]);
  A s = 0;
  for (int j = 0; j < 16; ++j) s += part[j];
  for (; i < n; ++i) s += A(p[i]);
  return s;
}

// Max of a contiguous run (n > 0) with 16 independent partial maxima (vectorises like
// sum_contiguous). NaN is ignored here; callers that must propagate it check separately.
template <class T>
inline T max_contiguous(const T* p, int64_t n) {
  T part[16];
  for (int j = 0; j < 16; ++j) part[j] = p[0];
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int j = 0; j < 16; ++j) part[j] = p[i + j] > part[j] ? p[i + j] : part[j];
  T m = part[0];
  for (int j = 1; j < 16; ++j) m = part[j] > m ? part[j] : m;
  for (; i < n; ++i) m = p[i] > m ? p[i] : m;
  return m;
}
TF_KERNEL_NAMESPACE_END
