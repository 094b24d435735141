// Fused optimizer updates on the device: one grid-stride pass over a contiguous parameter, its
// gradient and its state, applying the same per-element updates as the CPU
// (native/kernels/optim_update.h, which has the formulas). Optional buffers are null when their
// option is off; the update's shape is then chosen by a template argument, as on the CPU.
#include "../../native/kernels/optim_update.h"
#include "common.cuh"
#include "kernels.cuh"

namespace tf {
namespace cuda {

#define TF_FOR_EACH_ELEMENT(i, n) \
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < (n); i += int64_t(gridDim.x) * blockDim.x)

template <class T, bool kMomentum>
__global__ void sgd_kernel(T* p, const T* g, T* buf, int64_t n, SgdParams h) {
  const SgdUpdate<T> u(h);
  TF_FOR_EACH_ELEMENT(i, n) u.template apply<kMomentum>(p[i], g[i], kMomentum ? buf + i : nullptr);
}

template <class T, bool kAmsgrad>
__global__ void adam_kernel(T* p, const T* g, T* m, T* v, T* vmax, int64_t n, AdamParams h) {
  const AdamUpdate<T> u(h);
  TF_FOR_EACH_ELEMENT(i, n) u.template apply<kAmsgrad>(p[i], g[i], m[i], v[i], kAmsgrad ? vmax + i : nullptr);
}

template <class T, bool kCentered, bool kMomentum>
__global__ void rmsprop_kernel(T* p, const T* g, T* sq, T* ga, T* buf, int64_t n, RmspropParams h) {
  const RmspropUpdate<T> u(h);
  TF_FOR_EACH_ELEMENT(i, n)
  u.template apply<kCentered, kMomentum>(p[i], g[i], sq[i], kCentered ? ga + i : nullptr, kMomentum ? buf + i : nullptr);
}

template <class T>
__global__ void adagrad_kernel(T* p, const T* g, T* sum, int64_t n, AdagradParams h) {
  const AdagradUpdate<T> u(h);
  TF_FOR_EACH_ELEMENT(i, n) u.apply(p[i], g[i], sum[i]);
}

namespace {

template <class T> T* as(void* q) { return static_cast<T*>(q); }
template <class T> const T* as(const void* q) { return static_cast<const T*>(q); }

void sgd_step(void* p, const void* g, void* buf, int32_t dtype, int64_t n, const SgdParams& h) {
  const unsigned grid = grid_for(n);
  if (buf) {
    TF_DISPATCH_FLOAT(dtype, T,
                      TF_LAUNCH(grid, kThreads, 0, device_stream(), sgd_kernel<T, true>)(as<T>(p), as<T>(g), as<T>(buf), n, h));
  } else {
    TF_DISPATCH_FLOAT(dtype, T,
                      TF_LAUNCH(grid, kThreads, 0, device_stream(), sgd_kernel<T, false>)(as<T>(p), as<T>(g), nullptr, n, h));
  }
  check_launch("sgdStep");
}

void adam_step(void* p, const void* g, void* m, void* v, void* vmax, int32_t dtype, int64_t n, const AdamParams& h) {
  const unsigned grid = grid_for(n);
  if (vmax) {
    TF_DISPATCH_FLOAT(dtype, T,
                      TF_LAUNCH(grid, kThreads, 0, device_stream(), adam_kernel<T, true>)(
                          as<T>(p), as<T>(g), as<T>(m), as<T>(v), as<T>(vmax), n, h));
  } else {
    TF_DISPATCH_FLOAT(dtype, T,
                      TF_LAUNCH(grid, kThreads, 0, device_stream(), adam_kernel<T, false>)(
                          as<T>(p), as<T>(g), as<T>(m), as<T>(v), nullptr, n, h));
  }
  check_launch("adamStep");
}

void rmsprop_step(void* p, const void* g, void* sq, void* ga, void* buf, int32_t dtype, int64_t n,
                  const RmspropParams& h) {
  const unsigned grid = grid_for(n);
#define TF_RMSPROP(C, M)                                                                                     \
  TF_DISPATCH_FLOAT(dtype, T,                                                                                \
                    TF_LAUNCH(grid, kThreads, 0, device_stream(), rmsprop_kernel<T, C, M>)(                  \
                        as<T>(p), as<T>(g), as<T>(sq), as<T>(ga), as<T>(buf), n, h))
  if (ga && buf) {
    TF_RMSPROP(true, true);
  } else if (ga) {
    TF_RMSPROP(true, false);
  } else if (buf) {
    TF_RMSPROP(false, true);
  } else {
    TF_RMSPROP(false, false);
  }
#undef TF_RMSPROP
  check_launch("rmspropStep");
}

void adagrad_step(void* p, const void* g, void* sum, int32_t dtype, int64_t n, const AdagradParams& h) {
  TF_DISPATCH_FLOAT(dtype, T,
                    TF_LAUNCH(grid_for(n), kThreads, 0, device_stream(), adagrad_kernel<T>)(
                        as<T>(p), as<T>(g), as<T>(sum), n, h));
  check_launch("adagradStep");
}

}  // namespace

void register_optim(KernelTable& t) {
  t.sgd_step = sgd_step;
  t.adam_step = adam_step;
  t.rmsprop_step = rmsprop_step;
  t.adagrad_step = adagrad_step;
}

}  // namespace cuda
}  // namespace tf
