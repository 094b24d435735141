// Counter-based random numbers. Draw number c of stream `seed` is
//
//   u64(c) = splitmix64_finalize(seed + (c + 1) * 0x9E3779B97F4A7C15)
//
// i.e. the splitmix64 generator evaluated at position c, so any element can be computed on its own:
// results depend only on (seed, offset), never on how threads split the work.
//   uniform: element i uses draw offset + i (top 24 or 53 bits -> [0, 1), then lo + (hi - lo) * u)
//   normal:  elements 2j and 2j+1 come from one Box-Muller pair (draws offset + 2j, offset + 2j + 1)
//   randint: lo + (draw mod (hi - lo)) via a 64x64 -> 128-bit multiply (bias below 2^-32)
#include "common.h"
#include "random.h"

TF_KERNEL_NAMESPACE_BEGIN

inline uint64_t draw(uint64_t seed, uint64_t counter) {
  uint64_t z = seed + (counter + 1) * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
inline double unit53(uint64_t u) { return double(u >> 11) * (1.0 / 9007199254740992.0); }
inline float unit24(uint64_t u) { return float(u >> 40) * (1.0f / 16777216.0f); }

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
      // 1 - u keeps the log argument in (0, 1].
      const double u1 = 1.0 - unit53(draw(seed, offset + 2 * j));
      const double u2 = unit53(draw(seed, offset + 2 * j + 1));
      const double r = std::sqrt(-2.0 * std::log(u1));
      const double z0 = r * std::cos(6.283185307179586 * u2), z1 = r * std::sin(6.283185307179586 * u2);
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
      const unsigned __int128 wide = (unsigned __int128)draw(seed, offset + i) * span;
      const int64_t v = lo + int64_t(wide >> 64);
      if (out.dtype == kInt32) out.ptr<int32_t>()[i] = int32_t(v);
      else if (out.dtype == kFloat32) out.ptr<float>()[i] = float(v);
      else out.ptr<double>()[i] = double(v);
    }
  });
}

TF_KERNEL_NAMESPACE_END
