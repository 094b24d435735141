// float32 GEMM on tensor cores: TF32 inputs (10-bit mantissa, rounded to nearest), fp32 accumulation,
// through the WMMA API (m16n16k8), for the batched strided problem of gemm.cuh.
//
// A block of 4 warps computes a 64x64 tile of C, each warp 32x32 as 2x2 accumulator fragments. K
// advances in slices of 16, staged in shared memory (converted to TF32 on the way in) and
// double-buffered through registers: while the warps multiply slice t, every thread already holds
// its share of slice t + 1 loaded from global memory. Summed batch entries continue the same slice
// sequence, so the batch-reduce costs nothing extra. The accumulators go through shared memory to
// the epilogue, which applies alpha and beta with C's strides and the matrix edges.
#include "common.cuh"
#include "gemm.cuh"

namespace tf {
namespace cuda {

namespace {
bool g_allow_tf32 = false;
}
bool allow_tf32() { return g_allow_tf32; }
void set_allow_tf32(bool allow) { g_allow_tf32 = allow; }

namespace wmma = nvcuda::wmma;

constexpr int kTcM = 64, kTcN = 64, kTcK = 16;
constexpr int kTcThreads = 128;
constexpr int kLdA = kTcK + 8, kLdB = kTcN + 8, kLdC = kTcN + 8;  // padded rows, 32-byte aligned fragments
constexpr int kPerThread = kTcM * kTcK / kTcThreads;                // 8 elements of A and of B per slice

// One K slice (of summed entry r) into registers: A [64 x 16] and B [16 x 64], zero past the edges.
__device__ __forceinline__ void load_slice(const GemmArgs& g, int64_t oa, int64_t ob, int64_t t, int64_t slices,
                                           int64_t row0, int64_t col0, float* ra, float* rb) {
  int64_t sa, sb;
  summed_offsets(g, int(t / slices), &sa, &sb);
  const int64_t k0 = (t % slices) * kTcK;
  const float* a = static_cast<const float*>(g.a) + oa + sa;
  const float* b = static_cast<const float*>(g.b) + ob + sb;
#pragma unroll
  for (int i = 0; i < kPerThread; ++i) {
    const int e = threadIdx.x + i * kTcThreads;
    const int ar = e / kTcK, ak = e % kTcK;
    const int64_t gr = row0 + ar, gk = k0 + ak;
    ra[i] = gr < g.m && gk < g.k ? a[gr * g.a_rs + gk * g.a_cs] : 0.0f;
    const int bk = e / kTcN, bc = e % kTcN;
    const int64_t gk2 = k0 + bk, gc = col0 + bc;
    rb[i] = gk2 < g.k && gc < g.n ? b[gk2 * g.b_rs + gc * g.b_cs] : 0.0f;
  }
}

__global__ void __launch_bounds__(kTcThreads) gemm_tf32_kernel(GemmArgs g) {
  alignas(32) __shared__ float as[kTcM * kLdA];
  alignas(32) __shared__ float bs[kTcK * kLdB];
  alignas(32) __shared__ float cs[kTcM * kLdC];
  const int warp = threadIdx.x / 32, wr = warp / 2, wc = warp % 2;
  const int64_t row0 = int64_t(blockIdx.y) * kTcM, col0 = int64_t(blockIdx.x) * kTcN;
  const int64_t slices = (g.k + kTcK - 1) / kTcK, total = slices * g.summed;
  for (int64_t z = blockIdx.z; z < g.kept; z += gridDim.z) {
    int64_t oa, ob, oc;
    kept_offsets(g, int(z), &oa, &ob, &oc);
    wmma::fragment<wmma::accumulator, 16, 16, 8, float> acc[2][2];
#pragma unroll
    for (int i = 0; i < 2; ++i)
#pragma unroll
      for (int j = 0; j < 2; ++j) wmma::fill_fragment(acc[i][j], 0.0f);
    float ra[kPerThread], rb[kPerThread];
    load_slice(g, oa, ob, 0, slices, row0, col0, ra, rb);
    for (int64_t t = 0; t < total; ++t) {
#pragma unroll
      for (int i = 0; i < kPerThread; ++i) {
        const int e = threadIdx.x + i * kTcThreads;
        as[(e / kTcK) * kLdA + e % kTcK] = wmma::__float_to_tf32(ra[i]);
        bs[(e / kTcN) * kLdB + e % kTcN] = wmma::__float_to_tf32(rb[i]);
      }
      __syncthreads();
      if (t + 1 < total) load_slice(g, oa, ob, t + 1, slices, row0, col0, ra, rb);  // overlaps the products
#pragma unroll
      for (int kk = 0; kk < kTcK; kk += 8) {
        wmma::fragment<wmma::matrix_a, 16, 16, 8, wmma::precision::tf32, wmma::row_major> fa[2];
        wmma::fragment<wmma::matrix_b, 16, 16, 8, wmma::precision::tf32, wmma::row_major> fb[2];
#pragma unroll
        for (int i = 0; i < 2; ++i) wmma::load_matrix_sync(fa[i], as + (wr * 32 + i * 16) * kLdA + kk, kLdA);
#pragma unroll
        for (int j = 0; j < 2; ++j) wmma::load_matrix_sync(fb[j], bs + kk * kLdB + wc * 32 + j * 16, kLdB);
#pragma unroll
        for (int i = 0; i < 2; ++i)
#pragma unroll
          for (int j = 0; j < 2; ++j) wmma::mma_sync(acc[i][j], fa[i], fb[j], acc[i][j]);
      }
      __syncthreads();  // the next slice overwrites as/bs
    }
#pragma unroll
    for (int i = 0; i < 2; ++i)
#pragma unroll
      for (int j = 0; j < 2; ++j)
        wmma::store_matrix_sync(cs + (wr * 32 + i * 16) * kLdC + wc * 32 + j * 16, acc[i][j], kLdC, wmma::mem_row_major);
    __syncthreads();
    float* c = static_cast<float*>(g.c) + oc;
    const float alpha = float(g.alpha), beta = float(g.beta);
    for (int e = threadIdx.x; e < kTcM * kTcN; e += kTcThreads) {
      const int r = e / kTcN, cc = e % kTcN;
      const int64_t gr = row0 + r, gc = col0 + cc;
      if (gr >= g.m || gc >= g.n) continue;
      float* p = c + gr * g.c_rs + gc * g.c_cs;
      const float v = alpha * cs[r * kLdC + cc];
      *p = epilogue(g, beta == 0 ? v : v + beta * *p, gr, gc);
    }
    __syncthreads();  // cs is rewritten for the next batch entry
  }
}

void gemm_tf32(const GemmArgs& g) {
  const dim3 grid(unsigned((g.n + kTcN - 1) / kTcN), unsigned((g.m + kTcM - 1) / kTcM),
                  unsigned(g.kept < 65535 ? g.kept : 65535));
  TF_LAUNCH(grid, kTcThreads, 0, device_stream(), gemm_tf32_kernel)(g);
}

}  // namespace cuda
}  // namespace tf
