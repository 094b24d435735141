// Elementwise kernels on the device: unary ops and their derivatives, binary ops, where, copy (with
// dtype casts) and fill, over strided broadcast views (ElemIter, common.cuh), as grid-stride loops.
// Semantics match native/kernels/elementwise.cpp element for element (NaN handling, integer
// wrap-around, x / 0 == 0 for integers); the op is a kernel argument, a branch every thread of a
// launch takes the same way.
//
//   unary:           out[i] = f(x[i])                 unary_backward: dx[i] = g[i] * f'(x[i])
//   binary:          out[i] = a[i] (op) b[i]          where:          out[i] = c[i] ? a[i] : b[i]
//   copy:            out[i] = (Tout) x[i]             fill:           out[i] = value
#include <cmath>
#include <type_traits>

#include "common.cuh"
#include "elementwise_math.cuh"
#include "kernels.cuh"

namespace tf {
namespace cuda {

template <int N>
ElemIter<N> make_iter(const TensorView* const* views) {
  ElemIter<N> it{};
  const TensorView& o = *views[0];
  it.numel = o.numel();
  // Drop unit dims, then merge neighbours that every operand walks as one (stride[d] == stride[d+1] * shape[d+1]).
  int nd = 0;
  for (int d = 0; d < o.ndim; ++d) {
    if (o.shape[d] == 1) continue;
    bool merge = nd > 0;
    for (int k = 0; k < N && merge; ++k) merge = it.strides[k][nd - 1] == views[k]->strides[d] * o.shape[d];
    if (merge) {
      it.shape[nd - 1] *= o.shape[d];
      for (int k = 0; k < N; ++k) it.strides[k][nd - 1] = views[k]->strides[d];
    } else {
      it.shape[nd] = o.shape[d];
      for (int k = 0; k < N; ++k) it.strides[k][nd] = views[k]->strides[d];
      ++nd;
    }
  }
  it.ndim = nd;
  for (int k = 0; k < N; ++k) {
    double v = 0;
    it.is_scalar[k] = scalar_operand_value(*views[k], &v);
    it.scalar[k] = v;
    it.data[k] = it.is_scalar[k] ? nullptr : views[k]->data;
  }
  return it;
}
template ElemIter<1> make_iter<1>(const TensorView* const*);
template ElemIter<2> make_iter<2>(const TensorView* const*);
template ElemIter<3> make_iter<3>(const TensorView* const*);
template ElemIter<4> make_iter<4>(const TensorView* const*);

#define TF_GRID_STRIDE(i, n) \
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < (n); i += int64_t(gridDim.x) * blockDim.x)

// M, MO: storage types; the math runs in their arithmetic types (half.h).
template <class M, class MO>
__global__ void unary_kernel(ElemIter<2> it, UnaryOp op, double p0, double p1) {
  TF_GRID_STRIDE(i, it.numel) {
    int64_t off[2];
    offsets_of(it, i, off);
    static_cast<MO*>(it.data[0])[off[0]] =
        narrow<MO>(Arith<MO>(unary_value<Arith<M>>(op, load<M>(it, 1, off[1]), p0, p1)));
  }
}

template <class M>
__global__ void unary_backward_kernel(ElemIter<4> it, UnaryOp op, double p0, double p1) {
  TF_GRID_STRIDE(i, it.numel) {
    int64_t off[4];
    offsets_of(it, i, off);
    static_cast<M*>(it.data[0])[off[0]] = narrow<M>(unary_derivative<Arith<M>>(
        op, load<M>(it, 1, off[1]), load<M>(it, 2, off[2]), load<M>(it, 3, off[3]), p0, p1));
  }
}

template <class M, class MO>
__global__ void binary_kernel(ElemIter<3> it, BinaryOp op) {
  TF_GRID_STRIDE(i, it.numel) {
    int64_t off[3];
    offsets_of(it, i, off);
    static_cast<MO*>(it.data[0])[off[0]] =
        narrow<MO>(Arith<MO>(binary_value<Arith<M>>(op, load<M>(it, 1, off[1]), load<M>(it, 2, off[2]))));
  }
}

template <class M>
__global__ void where_kernel(ElemIter<4> it) {
  TF_GRID_STRIDE(i, it.numel) {
    int64_t off[4];
    offsets_of(it, i, off);
    static_cast<M*>(it.data[0])[off[0]] =
        narrow<M>(load<uint8_t>(it, 1, off[1]) ? load<M>(it, 2, off[2]) : load<M>(it, 3, off[3]));
  }
}

// Between storage types through their arithmetic types, as the CPU's copy.
template <class TO, class TI>
__global__ void copy_kernel(ElemIter<2> it) {
  TF_GRID_STRIDE(i, it.numel) {
    int64_t off[2];
    offsets_of(it, i, off);
    static_cast<TO*>(it.data[0])[off[0]] = narrow<TO>(convert_value<Arith<TO>, Arith<TI>>(load<TI>(it, 1, off[1])));
  }
}

template <class T>
__global__ void fill_kernel(ElemIter<1> it, T value) {
  TF_GRID_STRIDE(i, it.numel) {
    int64_t off[1];
    offsets_of(it, i, off);
    static_cast<T*>(it.data[0])[off[0]] = value;
  }
}

namespace {

void unary(UnaryOp op, const TensorView& out, const TensorView& x, const double* p) {
  const TensorView* v[2] = {&out, &x};
  const ElemIter<2> it = make_iter<2>(v);
  if (it.numel == 0) return;
  const unsigned grid = grid_for(it.numel);
  const bool to_bool = op == UnaryOp::LogicalNot;
  TF_DISPATCH_STORED(x.dtype, T, {
    if (to_bool) TF_LAUNCH(grid, kThreads, 0, device_stream(), unary_kernel<T, uint8_t>)(it, op, p[0], p[1]);
    else TF_LAUNCH(grid, kThreads, 0, device_stream(), unary_kernel<T, T>)(it, op, p[0], p[1]);
  });
  check_launch("unary");
}

void unary_backward(UnaryOp op, const TensorView& dx, const TensorView& g, const TensorView& x, const TensorView& y,
                    const double* p) {
  const TensorView* v[4] = {&dx, &g, &x, &y};
  const ElemIter<4> it = make_iter<4>(v);
  if (it.numel == 0) return;
  TF_DISPATCH_FLOAT_STORED(dx.dtype, T,
                         TF_LAUNCH(grid_for(it.numel), kThreads, 0, device_stream(), unary_backward_kernel<T>)(
                             it, op, p[0], p[1]));
  check_launch("unaryBackward");
}

bool is_comparison(BinaryOp op) {
  return op == BinaryOp::Eq || op == BinaryOp::Ne || op == BinaryOp::Lt || op == BinaryOp::Le || op == BinaryOp::Gt ||
         op == BinaryOp::Ge || op == BinaryOp::LogicalAnd || op == BinaryOp::LogicalOr;
}

void binary(BinaryOp op, const TensorView& out, const TensorView& a, const TensorView& b) {
  const TensorView* v[3] = {&out, &a, &b};
  const ElemIter<3> it = make_iter<3>(v);
  if (it.numel == 0) return;
  const unsigned grid = grid_for(it.numel);
  const bool cmp = is_comparison(op);
  TF_DISPATCH_STORED(a.dtype, T, {
    if (cmp) TF_LAUNCH(grid, kThreads, 0, device_stream(), binary_kernel<T, uint8_t>)(it, op);
    else TF_LAUNCH(grid, kThreads, 0, device_stream(), binary_kernel<T, T>)(it, op);
  });
  check_launch("binary");
}

void where(const TensorView& out, const TensorView& c, const TensorView& a, const TensorView& b) {
  const TensorView* v[4] = {&out, &c, &a, &b};
  const ElemIter<4> it = make_iter<4>(v);
  if (it.numel == 0) return;
  TF_DISPATCH_STORED(out.dtype, T,
                     TF_LAUNCH(grid_for(it.numel), kThreads, 0, device_stream(), where_kernel<T>)(it));
  check_launch("where");
}

template <class TO>
void copy_to(const ElemIter<2>& it, int32_t in_dtype) {
  TF_DISPATCH_STORED(in_dtype, TI,
                     TF_LAUNCH(grid_for(it.numel), kThreads, 0, device_stream(), copy_kernel<TO, TI>)(it));
}

void copy(const TensorView& out, const TensorView& x) {
  const TensorView* v[2] = {&out, &x};
  const ElemIter<2> it = make_iter<2>(v);
  if (it.numel == 0) return;
  TF_DISPATCH_STORED(out.dtype, TO, copy_to<TO>(it, x.dtype));
  check_launch("copy");
}

void fill(const TensorView& out, double value) {
  const TensorView* v[1] = {&out};
  const ElemIter<1> it = make_iter<1>(v);
  if (it.numel == 0) return;
  TF_DISPATCH_STORED(out.dtype, T,
                     TF_LAUNCH(grid_for(it.numel), kThreads, 0, device_stream(), fill_kernel<T>)(
                         it, narrow<T>(convert_value<Arith<T>, double>(value))));
  check_launch("fill");
}

}  // namespace

void register_elementwise(KernelTable& t) {
  t.unary = unary;
  t.unary_backward = unary_backward;
  t.binary = binary;
  t.where = where;
  t.copy = copy;
  t.fill = fill;
}

}  // namespace cuda
}  // namespace tf
