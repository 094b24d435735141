// The activations a kernel applies to what it has just computed (kernel_types.h's Activation): the
// GEMM epilogue on each finished tile of C, the convolutions on each finished tile or plane of their
// output, while it is still in L1/L2. The functions are the elementwise kernels' (common.h), so a
// fused result equals the unfused op's.
#pragma once
#include "common.h"

TF_KERNEL_NAMESPACE_BEGIN

// c[j * cs] = act(c[j * cs]) for j < n. ReLU keeps NaN, as the relu op does.
template <class T>
inline void activate(T* c, int64_t cs, int64_t n, Activation act) {
  constexpr T kSqrt1_2 = T(0.70710678118654752440), kSqrt2OverPi = T(0.79788456080286535588);
  switch (act) {
    case Activation::Relu:
      for (int64_t j = 0; j < n; ++j) {
        const T v = c[j * cs];
        c[j * cs] = v > T(0) || v != v ? v : T(0);
      }
      break;
    case Activation::Gelu:
      for (int64_t j = 0; j < n; ++j) {
        const T v = c[j * cs];
        c[j * cs] = T(0.5) * v * (T(1) + erf_(v * kSqrt1_2));
      }
      break;
    case Activation::GeluTanh:
      for (int64_t j = 0; j < n; ++j) {
        const T v = c[j * cs];
        c[j * cs] = T(0.5) * v * (T(1) + tanh_(kSqrt2OverPi * (v + T(0.044715) * v * v * v)));
      }
      break;
    case Activation::Silu:
      for (int64_t j = 0; j < n; ++j) {
        const T v = c[j * cs];
        c[j * cs] = v * sigmoid(v);
      }
      break;
    default: break;
  }
}

// The same over n contiguous elements (a unit stride the compiler can vectorise).
template <class T>
inline void activate(T* c, int64_t n, Activation act) {
  if (act != Activation::None) activate(c, int64_t(1), n, act);
}

TF_KERNEL_NAMESPACE_END
