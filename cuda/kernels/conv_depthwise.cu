// Depthwise 2-D convolution on the device (groups == C == outC), the contract of
// native/kernels/conv_depthwise.cpp (modes 0 forward, 1 input gradient, 2 weight gradient):
//
//   out[n, c, y, x] = bias[c] + sum_{ky, kx} w[c, ky, kx] * x[n, c, y*sh - ph + ky*dh, x*sw - pw + kx*dw]
//   dx[n, c, h, w]  = sum of w[c, ky, kx] * g[n, c, y, x] over the (y, x, ky, kx) that read (h, w)
//   dw[c, ky, kx]   = sum_{n, y, x} g[n, c, y, x] * x[n, c, y*sh - ph + ky*dh, x*sw - pw + kx*dw]
//
// Forward: a thread per output element. Input gradient: a thread per input element, gathering from
// the outputs whose windows hold it (no atomics). Weight gradient: a block per (channel, tap),
// reducing over images and positions in double.
#include "common.cuh"
#include "elementwise_math.cuh"
#include "kernels.cuh"

namespace tf {
namespace cuda {

// [N, C, 1, H, W] views: element (n, c, h, w).
TF_HD int64_t at4(const TensorView& v, int64_t n, int64_t c, int64_t h, int64_t w) {
  return n * v.strides[0] + c * v.strides[1] + h * v.strides[3] + w * v.strides[4];
}

template <class T>
__global__ void depthwise_forward_kernel(TensorView out, TensorView x, TensorView w, const T* bias, SpatialGeom g, int64_t total,
                                         Activation act) {
  const int64_t C = x.shape[1], OH = g.out[1], OW = g.out[2], KH = g.kernel[1], KW = g.kernel[2];
  for (int64_t t = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; t < total; t += int64_t(gridDim.x) * blockDim.x) {
    const int64_t ox = t % OW, oy = t / OW % OH, c = t / (OW * OH) % C, n = t / (OW * OH * C);
    const T* wc = static_cast<const T*>(w.data) + c * KH * KW;
    T acc = bias ? bias[c] : T(0);
    for (int64_t ky = 0; ky < KH; ++ky) {
      const int64_t h = oy * g.stride[1] - g.pad[1] + ky * g.dilation[1];
      if (h < 0 || h >= g.in[1]) continue;
      for (int64_t kx = 0; kx < KW; ++kx) {
        const int64_t wx = ox * g.stride[2] - g.pad[2] + kx * g.dilation[2];
        if (wx < 0 || wx >= g.in[2]) continue;
        acc += wc[ky * KW + kx] * static_cast<const T*>(x.data)[at4(x, n, c, h, wx)];
      }
    }
    static_cast<T*>(out.data)[t] = activation_value<T>(act, acc);
  }
}

template <class T>
__global__ void depthwise_input_grad_kernel(TensorView dx, TensorView gout, TensorView w, SpatialGeom g, int64_t total) {
  const int64_t C = dx.shape[1], H = g.in[1], W = g.in[2], KH = g.kernel[1], KW = g.kernel[2];
  for (int64_t t = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; t < total; t += int64_t(gridDim.x) * blockDim.x) {
    const int64_t ix = t % W, iy = t / W % H, c = t / (W * H) % C, n = t / (W * H * C);
    const T* wc = static_cast<const T*>(w.data) + c * KH * KW;
    T acc = 0;
    for (int64_t ky = 0; ky < KH; ++ky) {
      const int64_t ry = iy + g.pad[1] - ky * g.dilation[1];  // = oy * sh
      if (ry < 0 || ry % g.stride[1] != 0 || ry / g.stride[1] >= g.out[1]) continue;
      for (int64_t kx = 0; kx < KW; ++kx) {
        const int64_t rx = ix + g.pad[2] - kx * g.dilation[2];
        if (rx < 0 || rx % g.stride[2] != 0 || rx / g.stride[2] >= g.out[2]) continue;
        acc += wc[ky * KW + kx] * static_cast<const T*>(gout.data)[at4(gout, n, c, ry / g.stride[1], rx / g.stride[2])];
      }
    }
    static_cast<T*>(dx.data)[t] = acc;
  }
}

template <class T>
__global__ void depthwise_weight_grad_kernel(TensorView dw, TensorView x, TensorView gout, SpatialGeom g) {
  TF_SHARED(double, scratch, [32]);
  const int64_t N = x.shape[0], OH = g.out[1], OW = g.out[2], KH = g.kernel[1], KW = g.kernel[2];
  const int64_t c = blockIdx.x / (KH * KW), k = blockIdx.x % (KH * KW), ky = k / KW, kx = k % KW;
  double acc = 0;
  for (int64_t e = threadIdx.x; e < N * OH * OW; e += blockDim.x) {
    const int64_t ox = e % OW, oy = e / OW % OH, n = e / (OW * OH);
    const int64_t h = oy * g.stride[1] - g.pad[1] + ky * g.dilation[1];
    const int64_t wx = ox * g.stride[2] - g.pad[2] + kx * g.dilation[2];
    if (h < 0 || h >= g.in[1] || wx < 0 || wx >= g.in[2]) continue;
    acc += double(static_cast<const T*>(gout.data)[at4(gout, n, c, oy, ox)]) * double(static_cast<const T*>(x.data)[at4(x, n, c, h, wx)]);
  }
  acc = block_sum<double>(acc, scratch);
  if (threadIdx.x == 0) static_cast<T*>(dw.data)[c * KH * KW + k] = T(acc);
}

namespace {

// The operands as in the kernel table: y output-shaped, x input-shaped; mode 0 writes y, 1 x, 2 w.
void conv_depthwise(int mode, const TensorView& y, const TensorView& x, const TensorView& w, const TensorView* bias,
                    const SpatialGeom& g, Activation act) {
  switch (mode) {
    case 0: {
      const int64_t total = y.numel();
      TF_DISPATCH_FLOAT(x.dtype, T,
                        TF_LAUNCH(grid_for(total), kThreads, 0, device_stream(), depthwise_forward_kernel<T>)(
                            y, x, w, bias ? static_cast<const T*>(bias->data) : nullptr, g, total, act));
      break;
    }
    case 1: {
      const int64_t total = x.numel();
      TF_DISPATCH_FLOAT(x.dtype, T,
                        TF_LAUNCH(grid_for(total), kThreads, 0, device_stream(), depthwise_input_grad_kernel<T>)(x, y, w, g, total));
      break;
    }
    default: {
      const int64_t blocks = w.shape[0] * g.kernel[1] * g.kernel[2];
      if (blocks > 2147483647) {
        check_call(cudaErrorInvalidValue, "depthwise weight gradient with 2^31 or more filter taps");
        return;
      }
      TF_DISPATCH_FLOAT(x.dtype, T,
                        TF_LAUNCH(unsigned(blocks), kThreads, 0, device_stream(), depthwise_weight_grad_kernel<T>)(w, x, y, g));
      break;
    }
  }
  check_launch(mode == 0 ? "conv (depthwise)" : "conv backward (depthwise)");
}

}  // namespace

void register_conv_depthwise(KernelTable& t) { t.conv_depthwise = conv_depthwise; }

}  // namespace cuda
}  // namespace tf
