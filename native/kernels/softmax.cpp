// Softmax and log-softmax along one dim of a contiguous tensor viewed as [outer, n, inner]:
//
//   y[o, i, k]    = exp(x[o, i, k] - m) / sum_j exp(x[o, j, k] - m),   m = max_j x[o, j, k]
//   logy[o, i, k] = x[o, i, k] - m - log(sum_j exp(x[o, j, k] - m))
//
// Backward, with g = dL/dy:
//   softmax:      dx = y * (g - sum_j g_j y_j)
//   log-softmax:  dx = g - exp(logy) * sum_j g_j
#include <limits>

#include "common.h"
#include "softmax.h"

TF_KERNEL_NAMESPACE_BEGIN

template <class T> T sum_strided(const T* p, int64_t n, int64_t stride) {
  T s = 0;
  for (int64_t i = 0; i < n; ++i) s += p[i * stride];
  return s;
}

template <class T>
void softmax_t(bool log, T* y, const T* x, int64_t outer, int64_t n, int64_t inner) {
  const int64_t lines = outer * inner;
  const int64_t grain = n > 0 ? (kGrainElementwise + n - 1) / n : lines;
  parallel_for(0, lines, grain, [&](int64_t lo, int64_t hi) {
    for (int64_t line = lo; line < hi; ++line) {
      const int64_t o = line / inner, k = line % inner;
      const T* xl = x + o * n * inner + k;
      T* yl = y + o * n * inner + k;
      T m = -std::numeric_limits<T>::infinity();
      if (inner == 1 && n > 0) m = max_contiguous(xl, n);
      else for (int64_t i = 0; i < n; ++i) m = xl[i * inner] > m ? xl[i * inner] : m;
      if (m == -std::numeric_limits<T>::infinity()) m = 0;  // an all -inf line gives NaN like PyTorch
      // exp(x - m) into y first (a vectorised loop), then sum it with independent partial sums.
      for (int64_t i = 0; i < n; ++i) yl[i * inner] = exp_(xl[i * inner] - m);
      const T s = inner == 1 ? sum_contiguous(yl, n) : sum_strided(yl, n, inner);
      if (log) {
        // (x - m) - log s, not x - (m + log s): the latter loses the small log s next to a large m.
        const T ls = std::log(s);
        for (int64_t i = 0; i < n; ++i) yl[i * inner] = (xl[i * inner] - m) - ls;
      } else {
        const T inv = T(1) / s;
        for (int64_t i = 0; i < n; ++i) yl[i * inner] *= inv;
      }
    }
  });
}

template <class T>
void softmax_backward_t(bool log, T* dx, const T* g, const T* y, int64_t outer, int64_t n, int64_t inner) {
  const int64_t lines = outer * inner;
  const int64_t grain = n > 0 ? (kGrainElementwise + n - 1) / n : lines;
  parallel_for(0, lines, grain, [&](int64_t lo, int64_t hi) {
    for (int64_t line = lo; line < hi; ++line) {
      const int64_t base = (line / inner) * n * inner + line % inner;
      const T* gl = g + base;
      const T* yl = y + base;
      T* dl = dx + base;
      T s = 0;
      if (log) {
        for (int64_t i = 0; i < n; ++i) s += gl[i * inner];
        for (int64_t i = 0; i < n; ++i) dl[i * inner] = gl[i * inner] - std::exp(yl[i * inner]) * s;
      } else {
        for (int64_t i = 0; i < n; ++i) s += gl[i * inner] * yl[i * inner];
        for (int64_t i = 0; i < n; ++i) dl[i * inner] = yl[i * inner] * (gl[i * inner] - s);
      }
    }
  });
}

void softmax(bool log, void* y, const void* x, int32_t dtype, int64_t outer, int64_t n, int64_t inner) {
  TF_DISPATCH_FLOAT(dtype, T, softmax_t<T>(log, static_cast<T*>(y), static_cast<const T*>(x), outer, n, inner));
}

void softmax_backward(bool log, void* dx, const void* g, const void* y, int32_t dtype, int64_t outer, int64_t n,
                      int64_t inner) {
  TF_DISPATCH_FLOAT(dtype, T,
                    softmax_backward_t<T>(log, static_cast<T*>(dx), static_cast<const T*>(g),
                                          static_cast<const T*>(y), outer, n, inner));
}

TF_KERNEL_NAMESPACE_END
