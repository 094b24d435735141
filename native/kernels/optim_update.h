// The per-element updates of the fused optimizers, shared by the CPU kernels (optim.cpp, which
// vectorises loops over them) and the CUDA kernels (cuda/kernels/optim.cu), following PyTorch 1.13's
// torch/optim/*.py:
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
// Arithmetic runs in the parameter's dtype T (as PyTorch's float32 kernels). Each update is built
// once from its hyperparameters (scalars converted to T), then applied per element; the options
// that change the loop's shape (momentum, amsgrad, centered) are template parameters.
// (shared_fn.h says why everything is in an anonymous namespace.)
#pragma once
#include <cmath>

#include "../optim_params.h"
#include "shared_fn.h"


namespace tf {
namespace {

template <class T>
struct SgdUpdate {
  T lr, mom, keep, wd;
  bool has_wd, nesterov, maximize, init;
  TF_SHARED_FN explicit SgdUpdate(const SgdParams& h)
      : lr(T(h.lr)), mom(T(h.momentum)), keep(T(1) - T(h.dampening)), wd(T(h.weight_decay)),
        has_wd(h.weight_decay != 0), nesterov(h.nesterov), maximize(h.maximize), init(h.init_buf) {}
  template <bool kMomentum>
  TF_SHARED_FN void apply(T& p, T g, T* buf) const {
    const T pi = p;
    T d = maximize ? -g : g;
    d = has_wd ? d + wd * pi : d;
    if (kMomentum) {
      const T b = init ? d : *buf * mom + d * keep;
      *buf = b;
      d = nesterov ? d + mom * b : b;
    }
    p = pi - lr * d;
  }
};

template <class T>
struct AdamUpdate {
  T b1, b2, omb1, omb2, eps, wd, decay, step_size, bc2;
  bool coupled_wd, decoupled, maximize;
  TF_SHARED_FN explicit AdamUpdate(const AdamParams& h)
      : b1(T(h.beta1)), b2(T(h.beta2)), omb1(T(1 - h.beta1)), omb2(T(1 - h.beta2)), eps(T(h.eps)),
        wd(T(h.weight_decay)), decay(T(h.decay)), step_size(T(h.step_size)), bc2(T(h.bias_correction2_sqrt)),
        coupled_wd(!h.decoupled && h.weight_decay != 0), decoupled(h.decoupled), maximize(h.maximize) {}
  template <bool kAmsgrad>
  TF_SHARED_FN void apply(T& p, T g, T& m, T& v, T* vmax) const {
    T pi = p;
    T gi = maximize ? -g : g;
    gi = coupled_wd ? gi + wd * pi : gi;
    pi = decoupled ? pi * decay : pi;
    const T mi = m * b1 + gi * omb1;
    const T vi = v * b2 + gi * gi * omb2;
    m = mi;
    v = vi;
    T second = vi;
    if (kAmsgrad) {
      const T old = *vmax;
      second = (vi > old || vi != vi) ? vi : old;  // torch.maximum: NaN propagates
      *vmax = second;
    }
    const T denom = std::sqrt(second) / bc2 + eps;
    p = pi - step_size * (mi / denom);
  }
};

template <class T>
struct RmspropUpdate {
  T lr, a, oma, eps, wd, mom;
  bool has_wd, maximize;
  TF_SHARED_FN explicit RmspropUpdate(const RmspropParams& h)
      : lr(T(h.lr)), a(T(h.alpha)), oma(T(1 - h.alpha)), eps(T(h.eps)), wd(T(h.weight_decay)), mom(T(h.momentum)),
        has_wd(h.weight_decay != 0), maximize(h.maximize) {}
  template <bool kCentered, bool kMomentum>
  TF_SHARED_FN void apply(T& p, T g, T& sq, T* ga, T* buf) const {
    const T pi = p;
    T gi = maximize ? -g : g;
    gi = has_wd ? gi + wd * pi : gi;
    const T si = sq * a + gi * gi * oma;
    sq = si;
    T avg;
    if (kCentered) {
      const T gai = *ga * a + gi * oma;
      *ga = gai;
      avg = std::sqrt(si - gai * gai) + eps;
    } else {
      avg = std::sqrt(si) + eps;
    }
    if (kMomentum) {
      const T b = *buf * mom + gi / avg;
      *buf = b;
      p = pi - lr * b;
    } else {
      p = pi - lr * (gi / avg);
    }
  }
};

template <class T>
struct AdagradUpdate {
  T clr, eps, wd;
  bool has_wd, maximize;
  TF_SHARED_FN explicit AdagradUpdate(const AdagradParams& h)
      : clr(T(h.clr)), eps(T(h.eps)), wd(T(h.weight_decay)), has_wd(h.weight_decay != 0), maximize(h.maximize) {}
  TF_SHARED_FN void apply(T& p, T g, T& sum) const {
    const T pi = p;
    T gi = maximize ? -g : g;
    gi = has_wd ? gi + wd * pi : gi;
    const T s = sum + gi * gi;
    sum = s;
    p = pi - clr * (gi / (std::sqrt(s) + eps));
  }
};

}  // namespace
}  // namespace tf
