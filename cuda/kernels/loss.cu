// Fused cross-entropy over logits [N, C] and int32 targets [N] (bounds checked by the binding), one
// block per row, as native/kernels/loss.cpp:
//
//   lse[i] = m + log(sum_j exp(x[i, j] - m));   loss[i] = t[i] == ignore ? 0 : lse[i] - x[i, t[i]]
//   dx[i, j] = t[i] == ignore ? 0 : g[i] * (exp(x[i, j] - lse[i]) - (j == t[i]))
#include <cmath>

#include "common.cuh"
#include "kernels.cuh"

namespace tf {
namespace cuda {

template <class T>
__global__ void cross_entropy_kernel(T* loss, T* lse, const T* x, const int32_t* t, int64_t n, int64_t c,
                                     int64_t ignore) {
  TF_SHARED(double, scratch, [32]);
  for (int64_t i = blockIdx.x; i < n; i += gridDim.x) {
    const T* row = x + i * c;
    double m = -INFINITY;
    for (int64_t j = threadIdx.x; j < c; j += blockDim.x) m = fmax(m, double(row[j]));
    m = block_max<double>(m, scratch, -INFINITY);
    double s = 0;
    for (int64_t j = threadIdx.x; j < c; j += blockDim.x) s += std::exp(double(row[j]) - m);
    s = block_sum<double>(s, scratch);
    if (threadIdx.x == 0) {
      const T l = T(m + std::log(s));
      lse[i] = l;
      loss[i] = t[i] == ignore ? T(0) : l - row[t[i]];
    }
    __syncthreads();
  }
}

template <class T>
__global__ void cross_entropy_backward_kernel(T* dx, const T* g, const T* x, const T* lse, const int32_t* t, int64_t n,
                                              int64_t c, int64_t ignore) {
  for (int64_t i = blockIdx.x; i < n; i += gridDim.x) {
    T* d = dx + i * c;
    const T* row = x + i * c;
    const int64_t ti = t[i];
    const T gi = g[i], l = lse[i];
    for (int64_t j = threadIdx.x; j < c; j += blockDim.x)
      d[j] = ti == ignore ? T(0) : gi * std::exp(row[j] - l) - (j == ti ? gi : T(0));
  }
}

namespace {

unsigned row_grid(int64_t n) { return unsigned(n < 65535 ? n : 65535); }

void cross_entropy(void* loss, void* lse, const void* x, const int32_t* t, int32_t dtype, int64_t n, int64_t c,
                   int64_t ignore) {
  if (n == 0) return;
  TF_DISPATCH_FLOAT(dtype, T,
                         TF_LAUNCH(row_grid(n), kThreads, 0, device_stream(), cross_entropy_kernel<T>)(
                             static_cast<T*>(loss), static_cast<T*>(lse), static_cast<const T*>(x), t, n, c, ignore));
  check_launch("crossEntropy");
}

void cross_entropy_backward(void* dx, const void* g, const void* x, const void* lse, const int32_t* t, int32_t dtype,
                            int64_t n, int64_t c, int64_t ignore) {
  if (n == 0) return;
  TF_DISPATCH_FLOAT(dtype, T,
                         TF_LAUNCH(row_grid(n), kThreads, 0, device_stream(), cross_entropy_backward_kernel<T>)(
                             static_cast<T*>(dx), static_cast<const T*>(g), static_cast<const T*>(x),
                             static_cast<const T*>(lse), t, n, c, ignore));
  check_launch("crossEntropyBackward");
}

}  // namespace

void register_loss(KernelTable& t) {
  t.cross_entropy = cross_entropy;
  t.cross_entropy_backward = cross_entropy_backward;
}

}  // namespace cuda
}  // namespace tf
