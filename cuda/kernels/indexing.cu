// Gather/scatter along one dim on the device, as native/kernels/indexing.cpp (int32 indices already
// bounds-checked by the binding):
//
//   index_select: out[..., i, ...] = x[..., index[i], ...]             index: [len]
//   index_add:    out[..., index[i], ...] += alpha * src[..., i, ...]   (in place on out)
//   gather:       out[p] = x[p with p[dim] replaced by index[p]]        index has out's shape
//   scatter_add:  out[p with p[dim] replaced by index[p]] += src[p]     index has src's shape
//
// Scatters give one thread to each position of the other dims and walk the indexed dim in order, as
// the CPU does: two rows hitting one target never race, and sums come out in the same order.
// Kernels take TensorViews by value (plain structs; only their fields are read on the device).
#include "common.cuh"
#include "kernels.cuh"

namespace tf {
namespace cuda {

// Offset of `linear` (row-major over v's dims except `skip`) in v, and in w through the same coordinates.
TF_HD void offsets_without(const TensorView& v, const TensorView& w, int skip, int64_t linear, int64_t* ov, int64_t* ow) {
  *ov = 0;
  *ow = 0;
  for (int d = v.ndim - 1; d >= 0; --d) {
    if (d == skip) continue;
    const int64_t i = linear % v.shape[d];
    linear /= v.shape[d];
    *ov += i * v.strides[d];
    *ow += i * w.strides[d];
  }
}

template <class T>
__global__ void index_select_kernel(TensorView out, TensorView x, int dim, TensorView index, int64_t n) {
  const int32_t* idx = static_cast<const int32_t*>(index.data);
  const int64_t len = out.shape[dim];
  for (int64_t t = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; t < n; t += int64_t(gridDim.x) * blockDim.x) {
    const int64_t i = t % len;
    int64_t oo, ox;
    offsets_without(out, x, dim, t / len, &oo, &ox);
    static_cast<T*>(out.data)[oo + i * out.strides[dim]] =
        static_cast<const T*>(x.data)[ox + int64_t(idx[i * index.strides[0]]) * x.strides[dim]];
  }
}

template <class T>
__global__ void index_add_kernel(TensorView out, int dim, TensorView index, TensorView src, T alpha, int64_t rest) {
  const int32_t* idx = static_cast<const int32_t*>(index.data);
  const int64_t len = src.shape[dim];
  for (int64_t r = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; r < rest; r += int64_t(gridDim.x) * blockDim.x) {
    int64_t oo, os;
    offsets_without(out, src, dim, r, &oo, &os);
    T* o = static_cast<T*>(out.data) + oo;
    const T* s = static_cast<const T*>(src.data) + os;
    for (int64_t i = 0; i < len; ++i) o[int64_t(idx[i * index.strides[0]]) * out.strides[dim]] += alpha * s[i * src.strides[dim]];
  }
}

template <class T>
__global__ void gather_kernel(TensorView out, TensorView x, int dim, TensorView index, int64_t n) {
  for (int64_t t = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; t < n; t += int64_t(gridDim.x) * blockDim.x) {
    int64_t rem = t, oo = 0, ox = 0, oi = 0;
    for (int d = out.ndim - 1; d >= 0; --d) {
      const int64_t i = rem % out.shape[d];
      rem /= out.shape[d];
      oo += i * out.strides[d];
      oi += i * index.strides[d];
      if (d != dim) ox += i * x.strides[d];
    }
    ox += int64_t(static_cast<const int32_t*>(index.data)[oi]) * x.strides[dim];
    static_cast<T*>(out.data)[oo] = static_cast<const T*>(x.data)[ox];
  }
}

template <class T>
__global__ void scatter_add_kernel(TensorView out, int dim, TensorView index, TensorView src, int64_t rest) {
  const int64_t len = src.shape[dim];
  for (int64_t r = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; r < rest; r += int64_t(gridDim.x) * blockDim.x) {
    int64_t rem = r, os = 0, oi = 0, oo = 0;
    for (int d = src.ndim - 1; d >= 0; --d) {
      if (d == dim) continue;
      const int64_t i = rem % src.shape[d];
      rem /= src.shape[d];
      os += i * src.strides[d];
      oi += i * index.strides[d];
      oo += i * out.strides[d];
    }
    for (int64_t i = 0; i < len; ++i) {
      const int64_t target = static_cast<const int32_t*>(index.data)[oi + i * index.strides[dim]];
      static_cast<T*>(out.data)[oo + target * out.strides[dim]] += static_cast<const T*>(src.data)[os + i * src.strides[dim]];
    }
  }
}

namespace {

int64_t numel_without(const TensorView& v, int dim) {
  int64_t n = 1;
  for (int d = 0; d < v.ndim; ++d)
    if (d != dim) n *= v.shape[d];
  return n;
}

void index_select(const TensorView& out, const TensorView& x, int dim, const TensorView& index) {
  const int64_t n = out.numel();
  if (n == 0) return;
  TF_DISPATCH_ALL(x.dtype, T,
                  TF_LAUNCH(grid_for(n), kThreads, 0, device_stream(), index_select_kernel<T>)(out, x, dim, index, n));
  check_launch("indexSelect");
}

void index_add(const TensorView& out, int dim, const TensorView& index, const TensorView& src, double alpha) {
  const int64_t rest = numel_without(src, dim);
  if (rest == 0 || src.shape[dim] == 0) return;
  TF_DISPATCH_ALL(out.dtype, T,
                  TF_LAUNCH(grid_for(rest), kThreads, 0, device_stream(), index_add_kernel<T>)(out, dim, index, src,
                                                                                              T(alpha), rest));
  check_launch("indexAdd");
}

void gather(const TensorView& out, const TensorView& x, int dim, const TensorView& index) {
  const int64_t n = out.numel();
  if (n == 0) return;
  TF_DISPATCH_ALL(x.dtype, T, TF_LAUNCH(grid_for(n), kThreads, 0, device_stream(), gather_kernel<T>)(out, x, dim, index, n));
  check_launch("gather");
}

void scatter_add(const TensorView& out, int dim, const TensorView& index, const TensorView& src) {
  const int64_t rest = numel_without(src, dim);
  if (rest == 0 || src.shape[dim] == 0) return;
  TF_DISPATCH_ALL(out.dtype, T,
                  TF_LAUNCH(grid_for(rest), kThreads, 0, device_stream(), scatter_add_kernel<T>)(out, dim, index, src, rest));
  check_launch("scatterAdd");
}

}  // namespace

void register_indexing(KernelTable& t) {
  t.index_select = index_select;
  t.index_add = index_add;
  t.gather = gather;
  t.scatter_add = scatter_add;
}

}  // namespace cuda
}  // namespace tf
