// The counter-based generator behind every random op, shared by the CPU kernels (random.cpp) and the
// CUDA ones (cuda/kernels/random.cu), so a seeded tensor has the same values on every device.
// Draw number c of stream `seed` is the splitmix64 generator evaluated at position c:
//
//   draw(seed, c) = splitmix64_finalize(seed + (c + 1) * 0x9E3779B97F4A7C15)
//
// so any element can be computed on its own, whatever the threads or the device.
#pragma once
#include <cmath>
#include <cstdint>

#include "shared_fn.h"


namespace tf {
namespace rng {
namespace {

TF_SHARED_FN uint64_t draw(uint64_t seed, uint64_t counter) {
  uint64_t z = seed + (counter + 1) * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
// The top 53 (24) bits as a double (float) in [0, 1).
TF_SHARED_FN double unit53(uint64_t u) { return double(u >> 11) * (1.0 / 9007199254740992.0); }
TF_SHARED_FN float unit24(uint64_t u) { return float(u >> 40) * (1.0f / 16777216.0f); }
// lo + (u mod span) without division: the high half of u * span (bias below 2^-32 for spans < 2^32).
TF_SHARED_FN int64_t below(uint64_t u, int64_t lo, uint64_t span) {
#if defined(__CUDA_ARCH__)
  return lo + int64_t(__umul64hi(u, span));
#else
  return lo + int64_t((unsigned __int128)u * span >> 64);
#endif
}
// Elements 2j and 2j+1 of a normal tensor: one Box-Muller pair from draws offset + 2j, offset + 2j + 1
// (1 - u keeps the log argument in (0, 1]).
TF_SHARED_FN void normal_pair(uint64_t seed, uint64_t counter, double* z0, double* z1) {
  const double u1 = 1.0 - unit53(draw(seed, counter));
  const double u2 = unit53(draw(seed, counter + 1));
  const double r = sqrt(-2.0 * log(u1));
  *z0 = r * cos(6.283185307179586 * u2);
  *z1 = r * sin(6.283185307179586 * u2);
}

}  // namespace
}  // namespace rng
}  // namespace tf
