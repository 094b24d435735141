// The machine's floating-point ceiling at this CPU level: every pool thread runs 12 independent
// chains of vector FMAs (enough in flight to cover an FMA's latency on two pipes), and the caller
// times the whole. Benchmarks quote GEMM and convolution GFLOP/s against this measured peak.
#include "peak.h"
#include "simd.h"

TF_KERNEL_NAMESPACE_BEGIN

double fma_burn(int64_t iters) {
  typedef Vec<float>::type V;
  constexpr int W = kVecBytes / sizeof(float);
  constexpr int kChains = 12;
  const int threads = num_threads();
  float sinks[1024] = {};
  parallel_for(0, threads, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t t = lo; t < hi; ++t) {
      V acc[kChains], mul = V{} + 0.999999f, add = V{} + 1e-7f;
      for (int i = 0; i < kChains; ++i) acc[i] = V{} + float(i + t);
      for (int64_t k = 0; k < iters; ++k)
        for (int i = 0; i < kChains; ++i) acc[i] = acc[i] * mul + add;
      float s = 0;
      for (int i = 0; i < kChains; ++i)
        for (int l = 0; l < W; ++l) s += acc[i][l];
      sinks[t % 1024] = s;  // keeps the chains live
    }
  });
  volatile float keep = sinks[0];
  (void)keep;
  return 2.0 * W * kChains * double(iters) * double(threads);
}

TF_KERNEL_NAMESPACE_END
