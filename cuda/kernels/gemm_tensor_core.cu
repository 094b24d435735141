// GEMM on tensor cores through the WMMA API, for the batched strided problem of gemm.cuh, with fp32
// accumulation:
//   float32 C: TF32 inputs (10-bit mantissa, rounded to nearest), m16n16k8 fragments;
//   float16 / bfloat16 C: the stored 16-bit inputs as they are, m16n16k16 fragments.
//
// A block of 4 warps computes a 64x64 tile of C, each warp 32x32 as 2x2 accumulator fragments. K
// advances in slices of 16 (two TF32 fragment depths, one 16-bit one), staged in shared memory (converted to the tensor cores' input type on the way in) and double-buffered through
// registers: while the warps multiply slice t, every thread already holds its share of slice t + 1
// loaded from global memory. Summed batch entries continue the same slice sequence, so the
// batch-reduce costs nothing extra. The accumulators go through shared memory to the epilogue, which
// applies alpha, beta and the bias in float with C's strides and the matrix edges, and narrows.
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

namespace {

// What the tensor cores take for C's storage type M: the fragment's input type, the shared-memory
// element type and the conversion into it, and the fragment depth.
template <class M> struct TcInput;
template <> struct TcInput<float> {
  using precision = wmma::precision::tf32;
  using smem = float;
  static constexpr int kFragK = 8;
  static __device__ __forceinline__ float to_smem(float v) { return wmma::__float_to_tf32(v); }
};
// 16-bit inputs go to shared memory as they are stored: their bits, as CUDA's type (S, built from
// its raw form R; the emulator's S is the storage type itself).
template <class M, class S, class R>
struct TcInput16 {
  using precision = S;
  using smem = S;
  static constexpr int kFragK = 16;
  static __device__ __forceinline__ S to_smem(M v) {
#ifdef TF_CUDA_EMULATE
    return v;
#else
    R r;
    r.x = v.bits;
    return S(r);
#endif
  }
};
template <> struct TcInput<float16_t> : TcInput16<float16_t, __half, __half_raw> {};
template <> struct TcInput<bfloat16_t> : TcInput16<bfloat16_t, __nv_bfloat16, __nv_bfloat16_raw> {};

constexpr int kTcM = 64, kTcN = 64;
constexpr int kTcThreads = 128;
constexpr int kLdC = kTcN + 8;  // padded rows, 32-byte aligned fragments

template <class M>
struct TcTile {
  static constexpr int kK = 16;                                      // K per staged slice
  static constexpr int kLdA = kK + 8 * 4 / int(sizeof(typename TcInput<M>::smem));  // pad rows by 32 bytes
  static constexpr int kLdB = kTcN + 8 * 4 / int(sizeof(typename TcInput<M>::smem));
  static constexpr int kPerThread = kTcM * kK / kTcThreads;          // elements of A and of B per slice
};

// One K slice (of summed entry r) into registers: A [64 x kK] and B [kK x 64], zero past the edges.
template <class M>
__device__ __forceinline__ void load_slice(const GemmArgs& g, int64_t oa, int64_t ob, int64_t t, int64_t slices,
                                           int64_t row0, int64_t col0, M* ra, M* rb) {
  using Tile = TcTile<M>;
  int64_t sa, sb;
  summed_offsets(g, int(t / slices), &sa, &sb);
  const int64_t k0 = (t % slices) * Tile::kK;
  const M* a = static_cast<const M*>(g.a) + oa + sa;
  const M* b = static_cast<const M*>(g.b) + ob + sb;
#pragma unroll
  for (int i = 0; i < Tile::kPerThread; ++i) {
    const int e = threadIdx.x + i * kTcThreads;
    const int ar = e / Tile::kK, ak = e % Tile::kK;
    const int64_t gr = row0 + ar, gk = k0 + ak;
    ra[i] = gr < g.m && gk < g.k ? a[gr * g.a_rs + gk * g.a_cs] : M{};
    const int bk = e / kTcN, bc = e % kTcN;
    const int64_t gk2 = k0 + bk, gc = col0 + bc;
    rb[i] = gk2 < g.k && gc < g.n ? b[gk2 * g.b_rs + gc * g.b_cs] : M{};
  }
}

template <class M>
__global__ void __launch_bounds__(kTcThreads) gemm_tc_kernel(GemmArgs g) {
  using In = TcInput<M>;
  using Tile = TcTile<M>;
  using S = typename In::smem;
  constexpr int kK = Tile::kK, kFragK = In::kFragK, kLdA = Tile::kLdA, kLdB = Tile::kLdB;
  TF_SHARED_ALIGNED(32, S, as, [kTcM * kLdA]);
  TF_SHARED_ALIGNED(32, S, bs, [kK * kLdB]);
  TF_SHARED_ALIGNED(32, float, cs, [kTcM * kLdC]);
  const int warp = threadIdx.x / 32, wr = warp / 2, wc = warp % 2;
  const int64_t row0 = int64_t(blockIdx.y) * kTcM, col0 = int64_t(blockIdx.x) * kTcN;
  const int64_t slices = (g.k + kK - 1) / kK, total = slices * g.summed;
  for (int64_t z = blockIdx.z; z < g.kept; z += gridDim.z) {
    int64_t oa, ob, oc;
    kept_offsets(g, int(z), &oa, &ob, &oc);
    wmma::fragment<wmma::accumulator, 16, 16, kFragK, float> acc[2][2];
#pragma unroll
    for (int i = 0; i < 2; ++i)
#pragma unroll
      for (int j = 0; j < 2; ++j) wmma::fill_fragment(acc[i][j], 0.0f);
    M ra[Tile::kPerThread], rb[Tile::kPerThread];
    load_slice(g, oa, ob, 0, slices, row0, col0, ra, rb);
    for (int64_t t = 0; t < total; ++t) {
#pragma unroll
      for (int i = 0; i < Tile::kPerThread; ++i) {
        const int e = threadIdx.x + i * kTcThreads;
        as[(e / kK) * kLdA + e % kK] = In::to_smem(ra[i]);
        bs[(e / kTcN) * kLdB + e % kTcN] = In::to_smem(rb[i]);
      }
      __syncthreads();
      if (t + 1 < total) load_slice(g, oa, ob, t + 1, slices, row0, col0, ra, rb);  // overlaps the products
#pragma unroll
      for (int kk = 0; kk < kK; kk += kFragK) {
        wmma::fragment<wmma::matrix_a, 16, 16, kFragK, typename In::precision, wmma::row_major> fa[2];
        wmma::fragment<wmma::matrix_b, 16, 16, kFragK, typename In::precision, wmma::row_major> fb[2];
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
    M* c = static_cast<M*>(g.c) + oc;
    const float alpha = float(g.alpha), beta = float(g.beta);
    for (int e = threadIdx.x; e < kTcM * kTcN; e += kTcThreads) {
      const int r = e / kTcN, cc = e % kTcN;
      const int64_t gr = row0 + r, gc = col0 + cc;
      if (gr >= g.m || gc >= g.n) continue;
      M* p = c + gr * g.c_rs + gc * g.c_cs;
      const float v = alpha * cs[r * kLdC + cc];
      *p = narrow<M>(epilogue<float, M>(g, beta == 0 ? v : v + beta * widen(*p), gr, gc));
    }
    __syncthreads();  // cs is rewritten for the next batch entry
  }
}

}  // namespace

template <class M>
void gemm_tensor_core(const GemmArgs& g) {
  const dim3 grid(unsigned((g.n + kTcN - 1) / kTcN), unsigned((g.m + kTcM - 1) / kTcM),
                  unsigned(g.kept < 65535 ? g.kept : 65535));
  TF_LAUNCH(grid, kTcThreads, 0, device_stream(), gemm_tc_kernel<M>)(g);
}
template void gemm_tensor_core<float>(const GemmArgs&);
template void gemm_tensor_core<float16_t>(const GemmArgs&);
template void gemm_tensor_core<bfloat16_t>(const GemmArgs&);

}  // namespace cuda
}  // namespace tf
