// im2col and its adjoint col2im, the data movement around the GEMMs of a convolution:
//
//   x     [N, C, D, H, W]                    (any strides; 1-D/2-D inputs have unit D/H)
//   cols  [N, C*KD*KH*KW, OD*OH*OW]          (unit stride along the last dim, any other strides)
//   cols[n, ((c*KD + kd)*KH + kh)*KW + kw, (od*OH + oh)*OW + ow] = x[n, c, id, ih, iw]  (0 in padding)
//     with id = od*sd - pd + kd*dd (likewise ih, iw; see ../spatial_geom.h)
//
// so a convolution is one GEMM per image and group: out[n, g] = W[g] @ cols[n, g]. col2im is the
// transpose of im2col, accumulating: dx[n, c, id, ih, iw] += every cols entry that read it.
// Both run in parallel over (n, c) pairs: each task owns one input plane and its KD*KH*KW rows of
// cols, so no two threads write the same element.
#include "conv.h"
#include "window.h"

TF_KERNEL_NAMESPACE_BEGIN

namespace {

// dst[j] = src[j * step] for j < n, and its adjoint (dst[j * step] += src[j]). Restrict pointers:
// rows here are short (an output row), so the vectoriser's runtime alias checks would dominate.
template <class T> inline void gather_row(T* __restrict dst, const T* __restrict src, int64_t n, int64_t step) {
  if (step == 1) {
    for (int64_t j = 0; j < n; ++j) dst[j] = src[j];
  } else {
    for (int64_t j = 0; j < n; ++j) dst[j] = src[j * step];
  }
}
template <class T> inline void scatter_add_row(T* __restrict dst, const T* __restrict src, int64_t n, int64_t step) {
  if (step == 1) {
    for (int64_t j = 0; j < n; ++j) dst[j] += src[j];
  } else {
    for (int64_t j = 0; j < n; ++j) dst[j * step] += src[j];
  }
}
template <class T> inline void zero_row(T* __restrict dst, int64_t n) {
  for (int64_t j = 0; j < n; ++j) dst[j] = T(0);
}

inline int64_t grain_for(int64_t work_per_task) {
  return work_per_task >= kGrainElementwise ? 1 : kGrainElementwise / (work_per_task + 1) + 1;
}

// Everything the loops read, passed by value: locals the compiler keeps in registers (fields read
// through references or lambda captures would be reloaded after every out-of-line copy).
struct ConvArgs {
  int64_t C, D, H, W, OD, OH, OW, KD, KH, KW;
  int64_t stride[3], pad[3], dil[3];
  int64_t xs[5], cs0, cs1;
};

ConvArgs conv_args(const TensorView& x, const TensorView& cols, const SpatialGeom& g) {
  ConvArgs a;
  a.C = x.shape[1];
  a.D = g.in[0], a.H = g.in[1], a.W = g.in[2];
  a.OD = g.out[0], a.OH = g.out[1], a.OW = g.out[2];
  a.KD = g.kernel[0], a.KH = g.kernel[1], a.KW = g.kernel[2];
  for (int i = 0; i < 3; ++i) a.stride[i] = g.stride[i], a.pad[i] = g.pad[i], a.dil[i] = g.dilation[i];
  for (int i = 0; i < 5; ++i) a.xs[i] = x.strides[i];
  a.cs0 = cols.strides[0], a.cs1 = cols.strides[1];
  return a;
}

// The rows of cols of (n, c) tasks [lo, hi), output row by output row: forward (im2col) copies the
// in-bounds run [w_lo, w_hi) of each row from x and zeroes the rest; backward (col2im) adds that
// run back into x (xd is dx then, and cd is only read).
template <bool kForward, class T>
void conv_rows(const ConvArgs a, T* xd, T* cd, int64_t lo, int64_t hi) {
  const ColumnRanges cr(a.KW, a.dil[2], a.pad[2], a.stride[2], a.W, a.OW);
  const int64_t OHW = a.OH * a.OW, step = a.stride[2] * a.xs[4];
  for (int64_t task = lo; task < hi; ++task) {
    const int64_t n = task / a.C, c = task % a.C;
    T* xp = xd + n * a.xs[0] + c * a.xs[1];
    for (int64_t kd = 0; kd < a.KD; ++kd)
      for (int64_t kh = 0; kh < a.KH; ++kh)
        for (int64_t kw = 0; kw < a.KW; ++kw) {
          const int64_t row = ((c * a.KD + kd) * a.KH + kh) * a.KW + kw;
          T* crow = cd + n * a.cs0 + row * a.cs1;
          const int64_t offd = kd * a.dil[0] - a.pad[0];
          const int64_t offh = kh * a.dil[1] - a.pad[1];
          const int64_t offw = kw * a.dil[2] - a.pad[2];
          int64_t w_lo, w_hi;
          cr.get(kw, w_lo, w_hi);
          const int64_t w_first = (w_lo * a.stride[2] + offw) * a.xs[4];
          for (int64_t od = 0; od < a.OD; ++od, crow += OHW) {
            const int64_t id = od * a.stride[0] + offd;
            if (id < 0 || id >= a.D) {
              if (kForward) zero_row(crow, OHW);
              continue;
            }
            T* xrow = xp + id * a.xs[2] + w_first;
            T* cr_oh = crow;
            for (int64_t oh = 0; oh < a.OH; ++oh, cr_oh += a.OW) {
              const int64_t ih = oh * a.stride[1] + offh;
              if (ih < 0 || ih >= a.H) {
                if (kForward) zero_row(cr_oh, a.OW);
                continue;
              }
              if (kForward) {
                zero_row(cr_oh, w_lo);
                gather_row(cr_oh + w_lo, xrow + ih * a.xs[3], w_hi - w_lo, step);
                zero_row(cr_oh + w_hi, a.OW - w_hi);
              } else {
                scatter_add_row(xrow + ih * a.xs[3], cr_oh + w_lo, w_hi - w_lo, step);
              }
            }
          }
        }
  }
}

template <class T>
void im2col_t(const TensorView& cols, const TensorView& x, const SpatialGeom& g) {
  const ConvArgs a = conv_args(x, cols, g);
  const int64_t N = x.shape[0];
  const int64_t work = g.kernel[0] * g.kernel[1] * g.kernel[2] * g.out[0] * g.out[1] * g.out[2];
  T* xd = const_cast<T*>(x.ptr<T>());
  T* cd = cols.ptr<T>();
  parallel_for(0, N * a.C, grain_for(work), [&](int64_t lo, int64_t hi) { conv_rows<true, T>(a, xd, cd, lo, hi); });
}

template <class T>
void col2im_t(const TensorView& dx, const TensorView& cols, const SpatialGeom& g) {
  const ConvArgs a = conv_args(dx, cols, g);
  const int64_t N = dx.shape[0];
  const int64_t work = g.kernel[0] * g.kernel[1] * g.kernel[2] * g.out[0] * g.out[1] * g.out[2];
  T* xd = dx.ptr<T>();
  T* cd = const_cast<T*>(cols.ptr<T>());
  parallel_for(0, N * a.C, grain_for(work), [&](int64_t lo, int64_t hi) { conv_rows<false, T>(a, xd, cd, lo, hi); });
}

}  // namespace

void im2col(const TensorView& cols, const TensorView& x, const SpatialGeom& g) {
  TF_DISPATCH_FLOAT(x.dtype, T, im2col_t<T>(cols, x, g));
}

void col2im(const TensorView& dx, const TensorView& cols, const SpatialGeom& g) {
  TF_DISPATCH_FLOAT(dx.dtype, T, col2im_t<T>(dx, cols, g));
}

TF_KERNEL_NAMESPACE_END
