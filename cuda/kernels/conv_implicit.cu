// Convolution as implicit GEMM on the device: the GEMMs of im2col + GEMM, with the column matrix
// never stored; the tile loader computes each column element from the image instead. Per group g
// (gridDim.z), over [N, C, D, H, W] views (1-D/2-D ops have unit D/H; geometry in native/spatial_geom.h):
//
//   mode 0 (forward):        out[n, g*Mg + i, l] = act(sum_k W[g*Mg + i, k] * cols[k, (n, l)] (+ bias))
//   mode 1 (input gradient): dx[n, g*Cg + c, p]  = sum_{(o, kk)} W[g*Mg + o, c, kk] * gOut[n, g*Mg + o, l(p, kk)]
//   mode 2 (weight gradient): dW[g*Mg + i, (c, kk)] = sum_{(n, l)} gOut[n, g*Mg + i, l] * cols[(c, kk), (n, l)]
//
// where cols[(c, kk), (n, l)] = x[n, g*Cg + c, l*stride - pad + kk*dilation] (0 in padding), Mg = outC/G,
// Cg = C/G, kk runs over the KD*KH*KW taps and l over the output positions. The input gradient's
// l(p, kk) is the output position whose tap kk reads input position p (none: 0). Each block computes
// a tile with the SIMT GEMM's tiling (gemm.cuh); results are written, not accumulated.
#include "common.cuh"
#include "gemm.cuh"
#include "kernels.cuh"

namespace tf {
namespace cuda {

struct ConvImplicit {
  TensorView y, x, w;  // output-shaped (out or gOut), input-shaped (x or dx), weight-shaped (w or dW)
  const void* bias;
  Activation act;  // mode 0: applied after the bias
  SpatialGeom g;
  int64_t N, C, outC, Mg, Cg, KK, L, P;  // P: input positions D*H*W
  int mode;
};

// (n, c, d, h, w) of a 5-D view.
TF_HD int64_t at5(const TensorView& v, int64_t n, int64_t c, int64_t d, int64_t h, int64_t w) {
  return n * v.strides[0] + c * v.strides[1] + d * v.strides[2] + h * v.strides[3] + w * v.strides[4];
}

// cols[(c, kk), (n, l)] of group gi: the input element tap kk of output position l reads, or 0.
template <class T>
__device__ __forceinline__ T col(const ConvImplicit& p, int64_t gi, int64_t c, int64_t kk, int64_t n, int64_t l) {
  const SpatialGeom& g = p.g;
  const int64_t kw = kk % g.kernel[2], kh = kk / g.kernel[2] % g.kernel[1], kd = kk / (g.kernel[2] * g.kernel[1]);
  const int64_t ow = l % g.out[2], oh = l / g.out[2] % g.out[1], od = l / (g.out[2] * g.out[1]);
  const int64_t id = od * g.stride[0] - g.pad[0] + kd * g.dilation[0];
  const int64_t ih = oh * g.stride[1] - g.pad[1] + kh * g.dilation[1];
  const int64_t iw = ow * g.stride[2] - g.pad[2] + kw * g.dilation[2];
  if (id < 0 || id >= g.in[0] || ih < 0 || ih >= g.in[1] || iw < 0 || iw >= g.in[2]) return T(0);
  return static_cast<const T*>(p.x.data)[at5(p.x, n, gi * p.Cg + c, id, ih, iw)];
}

// Element (i, k) of the problem's A and (k, j) of its B, for group gi.
template <class T>
__device__ __forceinline__ T load_a(const ConvImplicit& p, int64_t gi, int64_t i, int64_t k) {
  const T* w = static_cast<const T*>(p.w.data);  // contiguous [outC, Cg, KK]
  switch (p.mode) {
    case 0: return w[(gi * p.Mg + i) * p.Cg * p.KK + k];
    case 1: return w[((gi * p.Mg + k / p.KK) * p.Cg + i) * p.KK + k % p.KK];
    default: {
      const int64_t n = k / p.L, l = k % p.L;
      const SpatialGeom& g = p.g;
      return static_cast<const T*>(p.y.data)[at5(p.y, n, gi * p.Mg + i, l / (g.out[2] * g.out[1]), l / g.out[2] % g.out[1], l % g.out[2])];
    }
  }
}

template <class T>
__device__ __forceinline__ T load_b(const ConvImplicit& p, int64_t gi, int64_t k, int64_t j) {
  const SpatialGeom& g = p.g;
  switch (p.mode) {
    case 0: return col<T>(p, gi, k / p.KK, k % p.KK, j / p.L, j % p.L);
    case 1: {
      // k = (o, kk), j = (n, input position): the output position whose tap kk reads it.
      const int64_t o = k / p.KK, kk = k % p.KK, n = j / p.P, q = j % p.P;
      const int64_t kw = kk % g.kernel[2], kh = kk / g.kernel[2] % g.kernel[1], kd = kk / (g.kernel[2] * g.kernel[1]);
      const int64_t iw = q % g.in[2], ih = q / g.in[2] % g.in[1], id = q / (g.in[2] * g.in[1]);
      const int64_t rd = id + g.pad[0] - kd * g.dilation[0], rh = ih + g.pad[1] - kh * g.dilation[1],
                    rw = iw + g.pad[2] - kw * g.dilation[2];
      if (rd < 0 || rh < 0 || rw < 0 || rd % g.stride[0] || rh % g.stride[1] || rw % g.stride[2]) return T(0);
      const int64_t od = rd / g.stride[0], oh = rh / g.stride[1], ow = rw / g.stride[2];
      if (od >= g.out[0] || oh >= g.out[1] || ow >= g.out[2]) return T(0);
      return static_cast<const T*>(p.y.data)[at5(p.y, n, gi * p.Mg + o, od, oh, ow)];
    }
    default: return col<T>(p, gi, j / p.KK, j % p.KK, k / p.L, k % p.L);
  }
}

template <class T>
__device__ __forceinline__ void store(const ConvImplicit& p, int64_t gi, int64_t i, int64_t j, T v) {
  switch (p.mode) {
    case 0: {
      const int64_t n = j / p.L, l = j % p.L, o = gi * p.Mg + i;
      if (p.bias) v += static_cast<const T*>(p.bias)[o];
      static_cast<T*>(p.y.data)[(n * p.outC + o) * p.L + l] = activation_value<T>(p.act, v);  // out is contiguous (checked by the binding)
      break;
    }
    case 1: {
      const int64_t n = j / p.P, q = j % p.P;
      static_cast<T*>(p.x.data)[(n * p.C + gi * p.Cg + i) * p.P + q] = v;  // dx contiguous
      break;
    }
    default: static_cast<T*>(p.w.data)[(gi * p.Mg + i) * p.Cg * p.KK + j] = v; break;  // dW contiguous
  }
}

template <class T>
__global__ void __launch_bounds__(256) conv_implicit_kernel(ConvImplicit p, int64_t M, int64_t Ncols, int64_t K) {
  TF_SHARED(T, as, [kTileK][kTileM]);
  TF_SHARED(T, bs, [kTileK][kTileN]);
  const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
  const int64_t gi = blockIdx.z, row0 = int64_t(blockIdx.y) * kTileM, col0 = int64_t(blockIdx.x) * kTileN;
  T acc[4][4] = {};
  for (int64_t k0 = 0; k0 < K; k0 += kTileK) {
    for (int e = threadIdx.x; e < kTileM * kTileK; e += blockDim.x) {
      const int rr = e / kTileK, kk = e % kTileK;
      const int64_t gr = row0 + rr, gk = k0 + kk;
      as[kk][rr] = gr < M && gk < K ? load_a<T>(p, gi, gr, gk) : T(0);
    }
    for (int e = threadIdx.x; e < kTileK * kTileN; e += blockDim.x) {
      const int kk = e / kTileN, cc = e % kTileN;
      const int64_t gk = k0 + kk, gc = col0 + cc;
      bs[kk][cc] = gk < K && gc < Ncols ? load_b<T>(p, gi, gk, gc) : T(0);
    }
    __syncthreads();
    accumulate_slice(as, bs, tx, ty, acc);
    __syncthreads();
  }
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const int64_t gr = row0 + ty + 16 * i;
    if (gr >= M) continue;
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const int64_t gc = col0 + tx + 16 * j;
      if (gc < Ncols) store<T>(p, gi, gr, gc, acc[i][j]);
    }
  }
}

namespace {

void conv_implicit(int mode, const TensorView& y, const TensorView& x, const TensorView& w, const TensorView* bias,
                   const SpatialGeom& g, int64_t groups, Activation act) {
  ConvImplicit p{};
  p.y = y;
  p.x = x;
  p.w = w;
  p.bias = bias ? bias->data : nullptr;
  p.act = act;
  p.g = g;
  p.mode = mode;
  p.N = x.shape[0];
  p.C = x.shape[1];
  p.outC = y.shape[1];
  p.Mg = p.outC / groups;
  p.Cg = p.C / groups;
  p.KK = g.kernel[0] * g.kernel[1] * g.kernel[2];
  p.L = g.out[0] * g.out[1] * g.out[2];
  p.P = g.in[0] * g.in[1] * g.in[2];
  int64_t M, Ncols, K;
  switch (mode) {
    case 0: M = p.Mg, Ncols = p.N * p.L, K = p.Cg * p.KK; break;
    case 1: M = p.Cg, Ncols = p.N * p.P, K = p.Mg * p.KK; break;
    default: M = p.Mg, Ncols = p.Cg * p.KK, K = p.N * p.L; break;
  }
  if (M == 0 || Ncols == 0) return;
  if ((Ncols + kTileN - 1) / kTileN > 2147483647 || (M + kTileM - 1) / kTileM > 65535 || groups > 65535) {
    check_call(cudaErrorInvalidValue, "convolution too large for one implicit-GEMM launch");
    return;
  }
  const dim3 grid(unsigned((Ncols + kTileN - 1) / kTileN), unsigned((M + kTileM - 1) / kTileM), unsigned(groups));
  TF_DISPATCH_FLOAT(x.dtype, T, TF_LAUNCH(grid, 256, 0, device_stream(), conv_implicit_kernel<T>)(p, M, Ncols, K));
  check_launch(mode == 0 ? "conv (implicit GEMM)" : "conv backward (implicit GEMM)");
}

}  // namespace

void register_conv_implicit(KernelTable& t) { t.conv_implicit = conv_implicit; }

}  // namespace cuda
}  // namespace tf
