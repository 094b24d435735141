// Cross-entropy as one pass over each row of logits: the log-sum-exp (max-shifted, so any logits
// are safe) and the picked logit give the loss; the backward turns the row into softmax minus the
// one-hot target, scaled by the incoming gradient. Rows [N, C] are independent: parallel over N.
#include "loss.h"

TF_KERNEL_NAMESPACE_BEGIN

template <class T>
void cross_entropy_t(T* loss, T* lse, const T* x, const int32_t* t, int64_t n, int64_t c, int64_t ignore) {
  parallel_for(0, n, c > 0 ? kGrainElementwise / c + 1 : n, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      const T* row = x + i * c;
      const T m = max_contiguous(row, c);
      T s = 0;
      for (int64_t j = 0; j < c; ++j) s += exp_(row[j] - m);
      const T l = m + std::log(s);
      lse[i] = l;
      loss[i] = t[i] == ignore ? T(0) : l - row[t[i]];
    }
  });
}

template <class T>
void cross_entropy_backward_t(T* dx, const T* g, const T* x, const T* lse, const int32_t* t, int64_t n, int64_t c,
                              int64_t ignore) {
  parallel_for(0, n, c > 0 ? kGrainElementwise / c + 1 : n, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      T* d = dx + i * c;
      if (t[i] == ignore) {
        for (int64_t j = 0; j < c; ++j) d[j] = T(0);
        continue;
      }
      const T* row = x + i * c;
      const T gi = g[i], l = lse[i];
      for (int64_t j = 0; j < c; ++j) d[j] = gi * exp_(row[j] - l);
      d[t[i]] -= gi;
    }
  });
}

void cross_entropy(void* loss, void* lse, const void* x, const int32_t* t, int32_t dtype, int64_t n, int64_t c,
                   int64_t ignore_index) {
  TF_DISPATCH_FLOAT(dtype, T,
                    cross_entropy_t<T>(static_cast<T*>(loss), static_cast<T*>(lse), static_cast<const T*>(x), t, n, c,
                                       ignore_index));
}

void cross_entropy_backward(void* dx, const void* g, const void* x, const void* lse, const int32_t* t, int32_t dtype,
                            int64_t n, int64_t c, int64_t ignore_index) {
  TF_DISPATCH_FLOAT(dtype, T,
                    cross_entropy_backward_t<T>(static_cast<T*>(dx), static_cast<const T*>(g),
                                                static_cast<const T*>(x), static_cast<const T*>(lse), t, n, c,
                                                ignore_index));
}

TF_KERNEL_NAMESPACE_END
