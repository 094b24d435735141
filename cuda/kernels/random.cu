// Random tensors on the device from the same counter-based generator as the CPU
// (native/kernels/counter_rng.h): a seeded tensor has the same values on both devices.
#include "../../native/kernels/counter_rng.h"
#include "common.cuh"
#include "kernels.cuh"

namespace tf {
namespace cuda {

template <class T>
__global__ void uniform_kernel(T* o, int64_t n, uint64_t seed, uint64_t offset, double lo, double hi) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const uint64_t u = rng::draw(seed, offset + uint64_t(i));
    if (sizeof(T) == 4) o[i] = T(float(lo) + float(hi - lo) * rng::unit24(u));
    else o[i] = T(lo + (hi - lo) * rng::unit53(u));
  }
}

template <class T>
__global__ void normal_kernel(T* o, int64_t n, uint64_t seed, uint64_t offset, double mean, double stddev) {
  const int64_t pairs = (n + 1) / 2;
  for (int64_t j = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; j < pairs; j += int64_t(gridDim.x) * blockDim.x) {
    double z0, z1;
    rng::normal_pair(seed, offset + uint64_t(2 * j), &z0, &z1);
    o[2 * j] = T(mean + stddev * z0);
    if (2 * j + 1 < n) o[2 * j + 1] = T(mean + stddev * z1);
  }
}

template <class T>
__global__ void randint_kernel(T* o, int64_t n, uint64_t seed, uint64_t offset, int64_t lo, uint64_t span) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    o[i] = T(rng::below(rng::draw(seed, offset + uint64_t(i)), lo, span));
}

namespace {

void uniform(const TensorView& out, uint64_t seed, uint64_t offset, double lo, double hi) {
  const int64_t n = out.numel();
  if (n == 0) return;
  TF_DISPATCH_FLOAT(out.dtype, T,
                         TF_LAUNCH(grid_for(n), kThreads, 0, device_stream(), uniform_kernel<T>)(
                             out.ptr<T>(), n, seed, offset, lo, hi));
  check_launch("uniform");
}

void normal(const TensorView& out, uint64_t seed, uint64_t offset, double mean, double stddev) {
  const int64_t n = out.numel();
  if (n == 0) return;
  TF_DISPATCH_FLOAT(out.dtype, T,
                         TF_LAUNCH(grid_for((n + 1) / 2), kThreads, 0, device_stream(), normal_kernel<T>)(
                             out.ptr<T>(), n, seed, offset, mean, stddev));
  check_launch("normal");
}

void randint(const TensorView& out, uint64_t seed, uint64_t offset, int64_t lo, int64_t hi) {
  const int64_t n = out.numel();
  if (n == 0) return;
  const uint64_t span = uint64_t(hi - lo);
  switch (out.dtype) {
    case kInt32:
      TF_LAUNCH(grid_for(n), kThreads, 0, device_stream(), randint_kernel<int32_t>)(out.ptr<int32_t>(), n, seed, offset,
                                                                                     lo, span);
      break;
    case kFloat32:
      TF_LAUNCH(grid_for(n), kThreads, 0, device_stream(), randint_kernel<float>)(out.ptr<float>(), n, seed, offset,
                                                                                   lo, span);
      break;
    case kFloat64:
      TF_LAUNCH(grid_for(n), kThreads, 0, device_stream(), randint_kernel<double>)(out.ptr<double>(), n, seed, offset,
                                                                                    lo, span);
      break;
    default: break;
  }
  check_launch("randint");
}

}  // namespace

void register_random(KernelTable& t) {
  t.uniform = uniform;
  t.normal = normal;
  t.randint = randint;
}

}  // namespace cuda
}  // namespace tf
