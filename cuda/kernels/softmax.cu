// Softmax and log-softmax along the middle dim of a contiguous [outer, n, inner] tensor, and their
// backwards, one block per line (o, k) of n elements spaced `inner` apart:
//
//   y    = exp(x - m) / sum_j exp(x_j - m),   m = max_j x_j        logy = (x - m) - log(sum_j exp(x_j - m))
//   softmax backward:      dx = y * (g - sum_j g_j y_j)            log-softmax backward: dx = g - exp(logy) * sum_j g_j
//
// As native/kernels/softmax.cpp: an all -inf line gives NaN (m is taken as 0 there).
#include <cmath>

#include "common.cuh"
#include "kernels.cuh"

namespace tf {
namespace cuda {

template <class T>
__global__ void softmax_kernel(bool log, T* y, const T* x, int64_t outer, int64_t n, int64_t inner) {
  TF_SHARED(double, scratch, [32]);
  for (int64_t line = blockIdx.x; line < outer * inner; line += gridDim.x) {
    const int64_t base = (line / inner) * n * inner + line % inner;
    const T* xl = x + base;
    T* yl = y + base;
    double m = -INFINITY;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) m = fmax(m, double(xl[i * inner]));
    m = block_max<double>(m, scratch, -INFINITY);
    if (m == -INFINITY) m = 0;
    double s = 0;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) s += std::exp(double(xl[i * inner]) - m);
    s = block_sum<double>(s, scratch);
    if (log) {
      const double ls = std::log(s);
      for (int64_t i = threadIdx.x; i < n; i += blockDim.x) yl[i * inner] = T((double(xl[i * inner]) - m) - ls);
    } else {
      const double inv = 1.0 / s;
      for (int64_t i = threadIdx.x; i < n; i += blockDim.x) yl[i * inner] = T(std::exp(double(xl[i * inner]) - m) * inv);
    }
    __syncthreads();
  }
}

template <class T>
__global__ void softmax_backward_kernel(bool log, T* dx, const T* g, const T* y, int64_t outer, int64_t n,
                                        int64_t inner) {
  TF_SHARED(double, scratch, [32]);
  for (int64_t line = blockIdx.x; line < outer * inner; line += gridDim.x) {
    const int64_t base = (line / inner) * n * inner + line % inner;
    double s = 0;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
      const int64_t j = base + i * inner;
      s += log ? double(g[j]) : double(g[j]) * double(y[j]);
    }
    s = block_sum<double>(s, scratch);
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
      const int64_t j = base + i * inner;
      dx[j] = log ? T(double(g[j]) - std::exp(double(y[j])) * s) : T(double(y[j]) * (double(g[j]) - s));
    }
    __syncthreads();
  }
}

namespace {

unsigned line_grid(int64_t lines) { return unsigned(lines < 65535 ? lines : 65535); }

void softmax(bool log, void* out, const void* x, int32_t dtype, int64_t outer, int64_t n, int64_t inner) {
  if (outer * inner == 0 || n == 0) return;
  TF_DISPATCH_FLOAT(dtype, T,
                         TF_LAUNCH(line_grid(outer * inner), kThreads, 0, device_stream(), softmax_kernel<T>)(
                             log, static_cast<T*>(out), static_cast<const T*>(x), outer, n, inner));
  check_launch("softmax");
}

void softmax_backward(bool log, void* dx, const void* g, const void* y, int32_t dtype, int64_t outer, int64_t n,
                      int64_t inner) {
  if (outer * inner == 0 || n == 0) return;
  TF_DISPATCH_FLOAT(dtype, T,
                         TF_LAUNCH(line_grid(outer * inner), kThreads, 0, device_stream(), softmax_backward_kernel<T>)(
                             log, static_cast<T*>(dx), static_cast<const T*>(g), static_cast<const T*>(y), outer, n,
                             inner));
  check_launch("softmaxBackward");
}

}  // namespace

void register_softmax(KernelTable& t) {
  t.softmax = softmax;
  t.softmax_backward = softmax_backward;
}

}  // namespace cuda
}  // namespace tf
