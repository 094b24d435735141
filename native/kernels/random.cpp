// Random tensors from the counter-based generator (counter_rng.h): element i of a tensor drawn at
// stream offset `offset` uses draw offset + i, so results never depend on how threads split the work.
//   uniform: element i uses draw offset + i (top 24 or 53 bits -> [0, 1), then lo + (hi - lo) * u)
//   normal:  elements 2j and 2j+1 come from one Box-Muller pair (draws offset + 2j, offset + 2j + 1)
//   randint: lo + (draw mod (hi - lo)) via a 64x64 -> 128-bit multiply (bias below 2^-32)
#include <cmath>

#include "common.h"
#include "counter_rng.h"
#include "random.h"

TF_KERNEL_NAMESPACE_BEGIN

using rng::draw;
using rng::unit24;
using rng::unit53;

void uniform(const TensorView& out, uint64_t seed, uint64_t offset, double lo, double hi) {
  const int64_t n = out.numel();
  parallel_for(0, n, kGrainElementwise, [&](int64_t b, int64_t e) {
    if (out.dtype == kFloat32) {
      float* o = out.ptr<float>();
      const float flo = float(lo), span = float(hi - lo);
      for (int64_t i = b; i < e; ++i) o[i] = flo + span * unit24(draw(seed, offset + i));
    } else {
      double* o = out.ptr<double>();
      for (int64_t i = b; i < e; ++i) o[i] = lo + (hi - lo) * unit53(draw(seed, offset + i));
    }
  });
}

void normal(const TensorView& out, uint64_t seed, uint64_t offset, double mean, double stddev) {
  const int64_t n = out.numel();
  const int64_t pairs = (n + 1) / 2;
  parallel_for(0, pairs, kGrainElementwise / 2, [&](int64_t b, int64_t e) {
    for (int64_t j = b; j < e; ++j) {
      double z0, z1;
      rng::normal_pair(seed, offset + 2 * j, &z0, &z1);
      const int64_t i = 2 * j;
      if (out.dtype == kFloat32) {
        out.ptr<float>()[i] = float(mean + stddev * z0);
        if (i + 1 < n) out.ptr<float>()[i + 1] = float(mean + stddev * z1);
      } else {
        out.ptr<double>()[i] = mean + stddev * z0;
        if (i + 1 < n) out.ptr<double>()[i + 1] = mean + stddev * z1;
      }
    }
  });
}

void randint(const TensorView& out, uint64_t seed, uint64_t offset, int64_t lo, int64_t hi) {
  const int64_t n = out.numel();
  const uint64_t span = uint64_t(hi - lo);
  parallel_for(0, n, kGrainElementwise, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const int64_t v = rng::below(draw(seed, offset + i), lo, span);
      if (out.dtype == kInt32) out.ptr<int32_t>()[i] = int32_t(v);
      else if (out.dtype == kFloat32) out.ptr<float>()[i] = float(v);
      else out.ptr<double>()[i] = double(v);
    }
  });
}

TF_KERNEL_NAMESPACE_END
