// Shared by the CUDA kernel files: the stream every kernel runs on, launch checks, strided element
// iteration over broadcast views, dtype dispatch and block reductions.
//
// Kernels receive plain structs by value (a TensorView is host-side; ElemIter below is what a
// kernel sees of up to N views of one shape). Every launch goes through TF_LAUNCH (cuda/compat.h)
// on device_stream() and is followed by check_launch(name), which turns a launch error into the
// message the binding throws (cuda/device.h).
#pragma once
#include <cstdint>

#include "../../native/kernel_types.h"
#include "../../native/kernels/dispatch.h"
#include "../compat.h"
#include "../device.h"

namespace tf {
namespace cuda {

constexpr int kThreads = 256;

// Blocks for a grid-stride loop over n items: enough to fill the device, never more than needed.
inline unsigned grid_for(int64_t n, int threads = kThreads) {
  const int64_t want = (n + threads - 1) / threads;
  const int64_t cap = int64_t(device_sm_count()) * 8;
  return unsigned(want < 1 ? 1 : (want < cap ? want : cap));
}

// Up to N views of one shape, dims coalesced on the host; element i (row-major) of operand k lives
// at data[k] + offset_k(i). A number operand (x + 2) has no device memory: its value travels here.
template <int N>
struct ElemIter {
  int ndim;
  int64_t numel;
  int64_t shape[kMaxDims];
  int64_t strides[N][kMaxDims];  // in elements
  void* data[N];
  double scalar[N];
  bool is_scalar[N];
};

template <int N>
ElemIter<N> make_iter(const TensorView* const* views);

template <int N>
TF_HD void offsets_of(const ElemIter<N>& it, int64_t i, int64_t* off) {
  for (int k = 0; k < N; ++k) off[k] = 0;
  for (int d = it.ndim - 1; d >= 0; --d) {
    const int64_t s = it.shape[d], idx = i % s;
    i /= s;
    for (int k = 0; k < N; ++k) off[k] += idx * it.strides[k][d];
  }
}

// Operand k's element at `off`, stored as M, in M's arithmetic type (half.h).
template <class M, int N>
TF_HD Arith<M> load(const ElemIter<N>& it, int k, int64_t off) {
  return it.is_scalar[k] ? Arith<M>(it.scalar[k]) : widen(static_cast<const M*>(it.data[k])[off]);
}

// Sum of v over the block (every thread gets it). `scratch` holds one value per warp; blockDim.x is
// a multiple of 32. Contains two __syncthreads, so every thread of the block must call it.
template <class T>
__device__ __forceinline__ T block_sum(T v, T* scratch) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  __syncthreads();  // scratch may still be read by a previous call
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  T s = lane < warps ? scratch[lane] : T(0);
  for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
  return s;
}

// Max of v over the block, NaN propagating (same contract as block_sum).
template <class T>
__device__ __forceinline__ T nan_max(T a, T b) {
  return a != a ? a : (b != b ? b : (a > b ? a : b));
}
template <class T>
__device__ __forceinline__ T block_max(T v, T* scratch, T identity) {
  for (int o = 16; o > 0; o >>= 1) v = nan_max(v, __shfl_xor_sync(0xffffffffu, v, o));
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  __syncthreads();
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  T s = lane < warps ? scratch[lane] : identity;
  for (int o = 16; o > 0; o >>= 1) s = nan_max(s, __shfl_xor_sync(0xffffffffu, s, o));
  return s;
}

}  // namespace cuda
}  // namespace tf
