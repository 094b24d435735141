// What the GEMM kernels share (gemm.cu: SIMT; gemm_tensor_core.cu: tensor cores): the batched
// strided problem and the offsets of one batch entry.
//
//   C[b] = alpha * sum_{r} A[b, r] @ B[b, r] + beta * C[b]        A [.., M, K], B [.., K, N], C [.., M, N]
//
// Batch dims are split in two: `kept` ones (one C matrix each; a kernel walks them over gridDim.z)
// and `summed` ones (C has stride 0 there: their products are added up, the batch-reduce GEMM).
#pragma once
#include "common.cuh"
#include "elementwise_math.cuh"

namespace tf {
namespace cuda {

struct GemmArgs {
  const void* a;
  const void* b;
  void* c;
  int64_t m, n, k;
  int64_t a_rs, a_cs, b_rs, b_cs, c_rs, c_cs;  // row / column strides (elements)
  int kept_ndim, summed_ndim;
  int64_t kept, summed;
  int64_t kept_shape[kMaxDims], kept_a[kMaxDims], kept_b[kMaxDims], kept_c[kMaxDims];
  int64_t summed_shape[kMaxDims], summed_a[kMaxDims], summed_b[kMaxDims];
  double alpha, beta;
  // Epilogue (native/kernel_types.h): C = act(alpha * A @ B + beta * C + bias[i * bias_sm + j * bias_sn]).
  const void* bias;
  int64_t bias_sm, bias_sn;
  Activation act;
};

// One element of C through the epilogue, computed in T with the bias stored as MB (C's dtype); the
// activations are the elementwise kernels' (the same functions the CPU epilogue and unfused ops use).
template <class T, class MB = T>
TF_HD T epilogue(const GemmArgs& g, T v, int64_t i, int64_t j) {
  if (g.bias) v += widen(static_cast<const MB*>(g.bias)[i * g.bias_sm + j * g.bias_sn]);
  return activation_value<T>(g.act, v);
}

// Offsets of kept batch entry z in A, B and C, and of summed entry r in A and B. Batch counts fit
// 32 bits (checked on the host): 32-bit division keeps the kernels free of the 64-bit division
// routine and the spills its call costs.
TF_HD void kept_offsets(const GemmArgs& g, int z, int64_t* oa, int64_t* ob, int64_t* oc) {
  *oa = *ob = *oc = 0;
  for (int d = g.kept_ndim - 1, rem = z; d >= 0; --d) {
    const int i = rem % int(g.kept_shape[d]);
    rem /= int(g.kept_shape[d]);
    *oa += i * g.kept_a[d];
    *ob += i * g.kept_b[d];
    *oc += i * g.kept_c[d];
  }
}
TF_HD void summed_offsets(const GemmArgs& g, int r, int64_t* oa, int64_t* ob) {
  *oa = *ob = 0;
  for (int d = g.summed_ndim - 1, rem = r; d >= 0; --d) {
    const int i = rem % int(g.summed_shape[d]);
    rem /= int(g.summed_shape[d]);
    *oa += i * g.summed_a[d];
    *ob += i * g.summed_b[d];
  }
}

// The SIMT tiling shared by the GEMM (gemm.cu) and the implicit-GEMM convolution (conv_implicit.cu):
// a block of 256 threads computes a kTileM x kTileN tile of C, 4x4 outputs per thread (rows ty + 16i,
// columns tx + 16j), stepping through K in slices of kTileK staged in shared memory. A's slice is
// stored transposed (as[k][row]) so a thread's four rows are one conflict-free read.
constexpr int kTileM = 64, kTileN = 64, kTileK = 16;

// acc[i][j] += sum over the staged slice of as[kk][ty + 16i] * bs[kk][tx + 16j]
template <class T>
__device__ __forceinline__ void accumulate_slice(const T (&as)[kTileK][kTileM], const T (&bs)[kTileK][kTileN], int tx,
                                                 int ty, T (&acc)[4][4]) {
#pragma unroll
  for (int kk = 0; kk < kTileK; ++kk) {
    T av[4], bv[4];
#pragma unroll
    for (int i = 0; i < 4; ++i) av[i] = as[kk][ty + 16 * i];
#pragma unroll
    for (int j = 0; j < 4; ++j) bv[j] = bs[kk][tx + 16 * j];
#pragma unroll
    for (int i = 0; i < 4; ++i)
#pragma unroll
      for (int j = 0; j < 4; ++j) acc[i][j] += av[i] * bv[j];
  }
}

// GEMM on tensor cores with fp32 accumulation, for C stored as M: float (TF32 inputs; used when
// allow_tf32(), cuda/device.h), float16_t or bfloat16_t (always). k > 0.
template <class M>
void gemm_tensor_core(const GemmArgs& g);

}  // namespace cuda
}  // namespace tf
