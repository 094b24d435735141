// Fused optimizer updates: one pass over a parameter, its gradient and its state buffers (all
// contiguous, n elements, one float dtype), following PyTorch 1.13's torch/optim/*.py per element:
//
// SGD:      d = ±g (+ wd p);  with momentum: b = init ? d : mom b + (1 - damp) d,
//           d = nesterov ? d + mom b : b;                    p -= lr d
// Adam(W):  g = ±g;  Adam: g += wd p;  AdamW: p *= 1 - lr wd
//           m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;  amsgrad: vmax = max(vmax, v), v := vmax
//           p -= step_size * m / (sqrt(v) / sqrt(1 - b2^t) + eps),   step_size = lr / (1 - b1^t)
// RMSprop:  g = ±g (+ wd p);  s = a s + (1 - a) g^2;  centered: ga = a ga + (1 - a) g, avg = sqrt(s - ga^2)
//           else avg = sqrt(s);  avg += eps;  momentum: b = mom b + g / avg, p -= lr b;  else p -= lr g / avg
// Adagrad:  g = ±g (+ wd p);  sum += g^2;  p -= clr g / (sqrt(sum) + eps)
//
// Arithmetic runs in the parameter's dtype (as PyTorch's float32 kernels); the options that change
// the loop's shape (momentum, amsgrad, centered) are template parameters and the others selects, so
// every loop is a straight-line body the compiler vectorises.
#include "optim.h"

TF_KERNEL_NAMESPACE_BEGIN

namespace {

// Each kernel is a range function over [lo, hi) with __restrict pointers (a lambda's captured
// pointers lose __restrict, and with three or four written streams GCC then gives up vectorising),
// called per chunk by parallel_for. Scalars are read into locals before the loop.

template <class T, bool kMomentum>
void sgd_range(T* __restrict p, const T* __restrict g, T* __restrict buf, int64_t lo, int64_t hi,
               const SgdParams& h) {
  const T lr = T(h.lr), mom = T(h.momentum), keep = T(1) - T(h.dampening), wd = T(h.weight_decay);
  const bool has_wd = h.weight_decay != 0, nesterov = h.nesterov, maximize = h.maximize, init = h.init_buf;
  for (int64_t i = lo; i < hi; ++i) {
    const T pi = p[i];
    T d = maximize ? -g[i] : g[i];
    d = has_wd ? d + wd * pi : d;
    if (kMomentum) {
      const T b = init ? d : buf[i] * mom + d * keep;
      buf[i] = b;
      d = nesterov ? d + mom * b : b;
    }
    p[i] = pi - lr * d;
  }
}

template <class T, bool kAmsgrad>
void adam_range(T* __restrict p, const T* __restrict g, T* __restrict m, T* __restrict v, T* __restrict vmax,
                int64_t lo, int64_t hi, const AdamParams& h) {
  const T b1 = T(h.beta1), b2 = T(h.beta2), omb1 = T(1 - h.beta1), omb2 = T(1 - h.beta2), eps = T(h.eps);
  const T wd = T(h.weight_decay), decay = T(h.decay), step_size = T(h.step_size), bc2 = T(h.bias_correction2_sqrt);
  const bool coupled_wd = !h.decoupled && h.weight_decay != 0, decoupled = h.decoupled, maximize = h.maximize;
  for (int64_t i = lo; i < hi; ++i) {
    T pi = p[i];
    T gi = maximize ? -g[i] : g[i];
    gi = coupled_wd ? gi + wd * pi : gi;
    pi = decoupled ? pi * decay : pi;
    const T mi = m[i] * b1 + gi * omb1;
    const T vi = v[i] * b2 + gi * gi * omb2;
    m[i] = mi;
    v[i] = vi;
    T second = vi;
    if (kAmsgrad) {
      const T old = vmax[i];
      second = (vi > old || vi != vi) ? vi : old;  // torch.maximum: NaN propagates
      vmax[i] = second;
    }
    const T denom = std::sqrt(second) / bc2 + eps;
    p[i] = pi - step_size * (mi / denom);
  }
}

template <class T, bool kCentered, bool kMomentum>
void rmsprop_range(T* __restrict p, const T* __restrict g, T* __restrict sq, T* __restrict ga, T* __restrict buf,
                   int64_t lo, int64_t hi, const RmspropParams& h) {
  const T lr = T(h.lr), a = T(h.alpha), oma = T(1 - h.alpha), eps = T(h.eps), wd = T(h.weight_decay);
  const T mom = T(h.momentum);
  const bool has_wd = h.weight_decay != 0, maximize = h.maximize;
  for (int64_t i = lo; i < hi; ++i) {
    const T pi = p[i];
    T gi = maximize ? -g[i] : g[i];
    gi = has_wd ? gi + wd * pi : gi;
    const T si = sq[i] * a + gi * gi * oma;
    sq[i] = si;
    T avg;
    if (kCentered) {
      const T gai = ga[i] * a + gi * oma;
      ga[i] = gai;
      avg = std::sqrt(si - gai * gai) + eps;
    } else {
      avg = std::sqrt(si) + eps;
    }
    if (kMomentum) {
      const T b = buf[i] * mom + gi / avg;
      buf[i] = b;
      p[i] = pi - lr * b;
    } else {
      p[i] = pi - lr * (gi / avg);
    }
  }
}

template <class T>
void adagrad_range(T* __restrict p, const T* __restrict g, T* __restrict sum, int64_t lo, int64_t hi,
                   const AdagradParams& h) {
  const T clr = T(h.clr), eps = T(h.eps), wd = T(h.weight_decay);
  const bool has_wd = h.weight_decay != 0, maximize = h.maximize;
  for (int64_t i = lo; i < hi; ++i) {
    const T pi = p[i];
    T gi = maximize ? -g[i] : g[i];
    gi = has_wd ? gi + wd * pi : gi;
    const T s = sum[i] + gi * gi;
    sum[i] = s;
    p[i] = pi - clr * (gi / (std::sqrt(s) + eps));
  }
}

template <class T, bool kMomentum>
void sgd_t(T* p, const T* g, T* buf, int64_t n, const SgdParams& h) {
  parallel_for(0, n, kGrainElementwise, [&](int64_t lo, int64_t hi) { sgd_range<T, kMomentum>(p, g, buf, lo, hi, h); });
}
template <class T, bool kAmsgrad>
void adam_t(T* p, const T* g, T* m, T* v, T* vmax, int64_t n, const AdamParams& h) {
  parallel_for(0, n, kGrainElementwise,
               [&](int64_t lo, int64_t hi) { adam_range<T, kAmsgrad>(p, g, m, v, vmax, lo, hi, h); });
}
template <class T, bool kCentered, bool kMomentum>
void rmsprop_t(T* p, const T* g, T* sq, T* ga, T* buf, int64_t n, const RmspropParams& h) {
  parallel_for(0, n, kGrainElementwise,
               [&](int64_t lo, int64_t hi) { rmsprop_range<T, kCentered, kMomentum>(p, g, sq, ga, buf, lo, hi, h); });
}
template <class T>
void adagrad_t(T* p, const T* g, T* sum, int64_t n, const AdagradParams& h) {
  parallel_for(0, n, kGrainElementwise, [&](int64_t lo, int64_t hi) { adagrad_range<T>(p, g, sum, lo, hi, h); });
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
