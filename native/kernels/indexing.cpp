// Gather/scatter along one dim. Index tensors are int32 and were bounds-checked by the binding
// (0 <= index < size of the indexed dim), so these loops never leave their tensors.
//
//   index_select: out[..., i, ...] = x[..., index[i], ...]             index: [len]
//   index_add:    out[..., index[i], ...] += alpha * src[..., i, ...]   (in place on out)
//   gather:       out[p] = x[p with p[dim] replaced by index[p]]        index has out's shape
//   scatter_add:  out[p with p[dim] replaced by index[p]] += src[p]     index has src's shape
//
// Scatters run serially over the indexed dim (two rows may hit one target) but in parallel over the
// other dims, so they stay deterministic.
#include "common.h"
#include "indexing.h"

TF_KERNEL_NAMESPACE_BEGIN

// A view with `dim` removed, to iterate over all "other" positions.
TensorView drop_dim(const TensorView& v, int dim) {
  TensorView r = v;
  r.ndim = v.ndim - 1;
  for (int d = dim; d < r.ndim; ++d) {
    r.shape[d] = v.shape[d + 1];
    r.strides[d] = v.strides[d + 1];
  }
  return r;
}

int64_t offset_of(const TensorView& v, int64_t linear) {
  int64_t off = 0;
  for (int d = v.ndim - 1; d >= 0; --d) {
    off += (linear % v.shape[d]) * v.strides[d];
    linear /= v.shape[d];
  }
  return off;
}

template <class T>
void index_select_t(const TensorView& out, const TensorView& x, int dim, const TensorView& index) {
  const int32_t* idx = index.ptr<int32_t>();
  const int64_t is = index.strides[0];
  if (out.is_contiguous() && x.is_contiguous()) {
    // Whole rows: out[o, i, :] = x[o, index[i], :] as one memcpy of `inner` elements each
    // (batches of a dataset are gathered this way).
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < dim; ++d) outer *= x.shape[d];
    for (int d = dim + 1; d < x.ndim; ++d) inner *= x.shape[d];
    const int64_t len = out.shape[dim], xlen = x.shape[dim];
    parallel_for(0, outer * len, kGrainElementwise / (inner + 1) + 1, [&](int64_t lo, int64_t hi) {
      for (int64_t t = lo; t < hi; ++t) {
        const int64_t o = t / len, i = t % len;
        std::memcpy(out.ptr<T>() + t * inner, x.ptr<T>() + (o * xlen + idx[i * is]) * inner, size_t(inner) * sizeof(T));
      }
    });
    return;
  }
  const TensorView ro = drop_dim(out, dim), rx = drop_dim(x, dim);
  const int64_t rest = ro.numel(), len = out.shape[dim];
  parallel_for(0, rest * len, kGrainElementwise, [&](int64_t lo, int64_t hi) {
    for (int64_t t = lo; t < hi; ++t) {
      const int64_t r = t / len, i = t % len;
      out.ptr<T>()[offset_of(ro, r) + i * out.strides[dim]] =
          x.ptr<T>()[offset_of(rx, r) + int64_t(idx[i * is]) * x.strides[dim]];
    }
  });
}

template <class T>
void index_add_t(const TensorView& out, int dim, const TensorView& index, const TensorView& src, double alpha) {
  const TensorView ro = drop_dim(out, dim), rs = drop_dim(src, dim);
  const int64_t rest = ro.numel(), len = src.shape[dim];
  const int32_t* idx = index.ptr<int32_t>();
  const int64_t is = index.strides[0];
  const T a = T(alpha);
  parallel_for(0, rest, kGrainElementwise / (len + 1) + 1, [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) {
      T* o = out.ptr<T>() + offset_of(ro, r);
      const T* s = src.ptr<T>() + offset_of(rs, r);
      for (int64_t i = 0; i < len; ++i) o[int64_t(idx[i * is]) * out.strides[dim]] += a * s[i * src.strides[dim]];
    }
  });
}

template <class T>
void gather_t(const TensorView& out, const TensorView& x, int dim, const TensorView& index) {
  const int64_t n = out.numel();
  parallel_for(0, n, kGrainElementwise, [&](int64_t lo, int64_t hi) {
    for (int64_t t = lo; t < hi; ++t) {
      int64_t rem = t, oo = 0, ox = 0, oi = 0;
      for (int d = out.ndim - 1; d >= 0; --d) {
        const int64_t i = rem % out.shape[d];
        rem /= out.shape[d];
        oo += i * out.strides[d];
        oi += i * index.strides[d];
        if (d != dim) ox += i * x.strides[d];
      }
      ox += int64_t(index.ptr<int32_t>()[oi]) * x.strides[dim];
      out.ptr<T>()[oo] = x.ptr<T>()[ox];
    }
  });
}

template <class T>
void scatter_add_t(const TensorView& out, int dim, const TensorView& index, const TensorView& src) {
  const TensorView rs = drop_dim(src, dim), ri = drop_dim(index, dim), ro = drop_dim(out, dim);
  const int64_t rest = rs.numel(), len = src.shape[dim];
  parallel_for(0, rest, kGrainElementwise / (len + 1) + 1, [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) {
      // The "other" coordinates of src/index; out is addressed with the same coordinates.
      int64_t rem = r, os = 0, oi = 0, oo = 0;
      for (int d = rs.ndim - 1; d >= 0; --d) {
        const int64_t i = rem % rs.shape[d];
        rem /= rs.shape[d];
        os += i * rs.strides[d];
        oi += i * ri.strides[d];
        oo += i * ro.strides[d];
      }
      for (int64_t i = 0; i < len; ++i) {
        const int64_t target = index.ptr<int32_t>()[oi + i * index.strides[dim]];
        out.ptr<T>()[oo + target * out.strides[dim]] += src.ptr<T>()[os + i * src.strides[dim]];
      }
    }
  });
}

void index_select(const TensorView& out, const TensorView& x, int dim, const TensorView& index) {
  TF_DISPATCH_ALL(x.dtype, T, index_select_t<T>(out, x, dim, index));
}
void index_add(const TensorView& out, int dim, const TensorView& index, const TensorView& src, double alpha) {
  TF_DISPATCH_ALL(out.dtype, T, index_add_t<T>(out, dim, index, src, alpha));
}
void gather(const TensorView& out, const TensorView& x, int dim, const TensorView& index) {
  TF_DISPATCH_ALL(x.dtype, T, gather_t<T>(out, x, dim, index));
}
void scatter_add(const TensorView& out, int dim, const TensorView& index, const TensorView& src) {
  TF_DISPATCH_ALL(out.dtype, T, scatter_add_t<T>(out, dim, index, src));
}

TF_KERNEL_NAMESPACE_END
