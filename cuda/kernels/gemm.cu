// Batched strided GEMM on the device (SIMT, fp32/fp64 FMA; float32 on tensor cores with TF32 when
// allowed, and float16/bfloat16 always, see gemm_tensor_core.cu; the SIMT kernel takes them too, for
// the empty sum k == 0):
//
//   C[b] = alpha * sum_{r} A[b, r] @ B[b, r] + beta * C[b]        A [.., M, K], B [.., K, N], C [.., M, N]
//
// with any element strides (transposes are strides: nothing is copied), broadcast batch dims
// (stride 0 in A or B) and batch-reduce dims (stride 0 in C: summed over, as the CPU GEMM does for
// weight gradients). Each block computes a 64x64 tile of C with 256 threads, 4x4 outputs per thread,
// stepping through K in slices of 16 staged in shared memory (accumulate_slice in gemm.cuh). Tiles at the edges load zeros past M, N and K.
// beta == 0 never reads C (it may hold NaN).
#include "common.cuh"
#include "gemm.cuh"
#include "kernels.cuh"

namespace tf {
namespace cuda {

template <class M>
__global__ void __launch_bounds__(256) gemm_kernel(GemmArgs g) {
  using T = Arith<M>;
  TF_SHARED(T, as, [kTileK][kTileM]);  // as[kk][row]
  TF_SHARED(T, bs, [kTileK][kTileN]);  // bs[kk][col]
  const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
  const int64_t row0 = int64_t(blockIdx.y) * kTileM, col0 = int64_t(blockIdx.x) * kTileN;
  for (int64_t z = blockIdx.z; z < g.kept; z += gridDim.z) {
    int64_t oa, ob, oc;
    kept_offsets(g, int(z), &oa, &ob, &oc);
    T acc[4][4] = {};
    for (int64_t r = 0; r < g.summed; ++r) {
      int64_t ra, rb;
      summed_offsets(g, int(r), &ra, &rb);
      ra += oa;
      rb += ob;
      const M* a = static_cast<const M*>(g.a) + ra;
      const M* b = static_cast<const M*>(g.b) + rb;
      for (int64_t k0 = 0; k0 < g.k; k0 += kTileK) {
        for (int e = threadIdx.x; e < kTileM * kTileK; e += blockDim.x) {
          const int rr = e / kTileK, kk = e % kTileK;
          const int64_t gr = row0 + rr, gk = k0 + kk;
          as[kk][rr] = (gr < g.m && gk < g.k) ? widen(a[gr * g.a_rs + gk * g.a_cs]) : T(0);
        }
        for (int e = threadIdx.x; e < kTileK * kTileN; e += blockDim.x) {
          const int kk = e / kTileN, cc = e % kTileN;
          const int64_t gk = k0 + kk, gc = col0 + cc;
          bs[kk][cc] = (gk < g.k && gc < g.n) ? widen(b[gk * g.b_rs + gc * g.b_cs]) : T(0);
        }
        __syncthreads();
        accumulate_slice(as, bs, tx, ty, acc);
        __syncthreads();
      }
    }
    M* c = static_cast<M*>(g.c) + oc;
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const int64_t gr = row0 + ty + 16 * i;
      if (gr >= g.m) continue;
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const int64_t gc = col0 + tx + 16 * j;
        if (gc >= g.n) continue;
        M* p = c + gr * g.c_rs + gc * g.c_cs;
        const T v = T(g.alpha) * acc[i][j];
        *p = narrow<M>(epilogue<T, M>(g, g.beta == 0 ? v : v + T(g.beta) * widen(*p), gr, gc));
      }
    }
  }
}

namespace {

void gemm_with(const TensorView& c, const TensorView& a, const TensorView& b, double alpha, double beta,
               const GemmEpilogue& ep) {
  GemmArgs g{};
  g.bias = ep.bias;
  g.bias_sm = ep.bias_sm;
  g.bias_sn = ep.bias_sn;
  g.act = ep.act;
  const int nb = c.ndim - 2;
  g.a = a.data;
  g.b = b.data;
  g.c = c.data;
  g.m = c.shape[nb];
  g.n = c.shape[nb + 1];
  g.k = a.shape[nb + 1];
  g.a_rs = a.strides[nb];
  g.a_cs = a.strides[nb + 1];
  g.b_rs = b.strides[nb];
  g.b_cs = b.strides[nb + 1];
  g.c_rs = c.strides[nb];
  g.c_cs = c.strides[nb + 1];
  g.alpha = alpha;
  g.beta = beta;
  g.kept = 1;
  g.summed = 1;
  for (int d = 0; d < nb; ++d) {
    if (c.shape[d] == 1) continue;
    if (c.strides[d] == 0) {
      g.summed_shape[g.summed_ndim] = c.shape[d];
      g.summed_a[g.summed_ndim] = a.strides[d];
      g.summed_b[g.summed_ndim] = b.strides[d];
      g.summed_ndim++;
      g.summed *= c.shape[d];
    } else {
      g.kept_shape[g.kept_ndim] = c.shape[d];
      g.kept_a[g.kept_ndim] = a.strides[d];
      g.kept_b[g.kept_ndim] = b.strides[d];
      g.kept_c[g.kept_ndim] = c.strides[d];
      g.kept_ndim++;
      g.kept *= c.shape[d];
    }
  }
  if (g.m == 0 || g.n == 0 || g.kept == 0) return;
  if (g.kept >= (int64_t(1) << 31) || g.summed >= (int64_t(1) << 31)) {
    cuda::check_call(cudaErrorInvalidValue, "matmul with 2^31 or more batch matrices");
    return;
  }
  if (g.k == 0 || g.summed == 0) {  // an empty sum: the kernel then computes C = beta * C
    g.k = 0;
    g.summed = 1;
    g.summed_ndim = 0;
  }
  if (g.k > 0 && (is_half_dtype(c.dtype) || (c.dtype == kFloat32 && allow_tf32()))) {
    if (c.dtype == kFloat16) gemm_tensor_core<float16_t>(g);
    else if (c.dtype == kBFloat16) gemm_tensor_core<bfloat16_t>(g);
    else gemm_tensor_core<float>(g);
    check_launch("matmul (tensor cores)");
    return;
  }
  const dim3 grid(unsigned((g.n + kTileN - 1) / kTileN), unsigned((g.m + kTileM - 1) / kTileM),
                  unsigned(g.kept < 65535 ? g.kept : 65535));
  TF_DISPATCH_FLOAT_STORED(c.dtype, M, TF_LAUNCH(grid, 256, 0, device_stream(), gemm_kernel<M>)(g));
  check_launch("matmul");
}

void gemm(const TensorView& c, const TensorView& a, const TensorView& b, double alpha, double beta) {
  gemm_with(c, a, b, alpha, beta, GemmEpilogue{nullptr, 0, 0, Activation::None});
}

}  // namespace

void register_gemm(KernelTable& t) {
  t.gemm = gemm;
  t.gemm_epilogue = gemm_with;
}

}  // namespace cuda
}  // namespace tf
