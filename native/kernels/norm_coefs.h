// The batch-norm input gradient as three per-channel coefficients, shared by the CPU kernel
// (norm.cpp) and the CUDA one (cuda/kernels/norm.cu):
//
//   dx = a * g + b * x + c,   a = w * rstd;   training (the batch's statistics) also subtracts the
//   means of g and of g * xh:  b = -a * mean(g xh) * rstd,  c = -a * mean(g) + a * mean(g xh) * rstd * mean_x
//
// from sum_g = sum of g and sum_gxh = sum of g * xh over the channel's `count` elements.
#pragma once
#include <cstdint>

#include "shared_fn.h"

namespace tf {
namespace {

struct BatchNormBackwardCoefs {
  double a, b, c;
};

TF_SHARED_FN BatchNormBackwardCoefs batch_norm_backward_coefs(double w, double mean, double rstd, double sum_g,
                                                              double sum_gxh, int64_t count, bool training) {
  BatchNormBackwardCoefs k{w * rstd, 0, 0};
  if (training && count > 0) {
    const double mg = sum_g / double(count), mgx = sum_gxh / double(count);
    k.b = -k.a * mgx * rstd;
    k.c = -k.a * mg + k.a * mgx * rstd * mean;
  }
  return k;
}

}  // namespace
}  // namespace tf
