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
// cols, so no two threads write the same element. The row loops are conv_rows.h's. Also here: the
// bias gradient, which every convolution's backward shares.
#include "conv.h"
#include "conv_rows.h"
#include "simd.h"

TF_KERNEL_NAMESPACE_BEGIN

namespace {

inline int64_t grain_for(int64_t work_per_task) {
  return work_per_task >= kGrainElementwise ? 1 : kGrainElementwise / (work_per_task + 1) + 1;
}

// The rows of cols of (n, c) tasks [lo, hi): every output row of each image (conv_rows.h).
template <bool kForward, class T>
void conv_rows(const ConvArgs a, T* xd, T* cd, int64_t cs0, int64_t cs1, int64_t lo, int64_t hi) {
  const ColumnRanges cr = column_ranges(a);
  const int64_t taps = a.KD * a.KH * a.KW;
  for (int64_t task = lo; task < hi; ++task) {
    const int64_t n = task / a.C, c = task % a.C;
    conv_plane_rows<kForward, T>(a, cr, xd + n * a.xs[0] + c * a.xs[1], cd + n * cs0 + c * taps * cs1, cs1, 0, a.OD * a.OH);
  }
}

template <class T>
void im2col_t(const TensorView& cols, const TensorView& x, const SpatialGeom& g) {
  const ConvArgs a = conv_args(x, g);
  const int64_t N = x.shape[0];
  const int64_t work = g.kernel[0] * g.kernel[1] * g.kernel[2] * g.out[0] * g.out[1] * g.out[2];
  T* xd = const_cast<T*>(x.ptr<T>());
  T* cd = cols.ptr<T>();
  parallel_for(0, N * a.C, grain_for(work), [&](int64_t lo, int64_t hi) {
    conv_rows<true, T>(a, xd, cd, cols.strides[0], cols.strides[1], lo, hi);
  });
}

template <class T>
void col2im_t(const TensorView& dx, const TensorView& cols, const SpatialGeom& g) {
  const ConvArgs a = conv_args(dx, g);
  const int64_t N = dx.shape[0];
  const int64_t work = g.kernel[0] * g.kernel[1] * g.kernel[2] * g.out[0] * g.out[1] * g.out[2];
  T* xd = dx.ptr<T>();
  T* cd = const_cast<T*>(cols.ptr<T>());
  parallel_for(0, N * a.C, grain_for(work), [&](int64_t lo, int64_t hi) {
    conv_rows<false, T>(a, xd, cd, cols.strides[0], cols.strides[1], lo, hi);
  });
}

// db[c] = sum of gOut's channel c over the batch and space: per image a plane sum (sum_run where
// its positions are contiguous), added in image order in double. Threads take channels, so the
// result does not depend on their number.
template <class T>
void bias_grad_t(const TensorView& db, const TensorView& gout) {
  const int64_t N = gout.shape[0], C = gout.shape[1], OD = gout.shape[2], OH = gout.shape[3], OW = gout.shape[4];
  const int64_t L = OD * OH * OW;
  const bool flat = gout.strides[4] == 1 && gout.strides[3] == OW && (OD == 1 || gout.strides[2] == OH * OW);
  parallel_for(0, C, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t c = lo; c < hi; ++c) {
      double s = 0;
      for (int64_t n = 0; n < N; ++n) {
        const T* plane = gout.ptr<T>() + n * gout.strides[0] + c * gout.strides[1];
        T r = 0;
        if (flat) {
          r = sum_run(plane, L);
        } else {
          for (int64_t d = 0; d < OD; ++d)
            for (int64_t y = 0; y < OH; ++y) {
              const T* row = plane + d * gout.strides[2] + y * gout.strides[3];
              for (int64_t x0 = 0; x0 < OW; ++x0) r += row[x0 * gout.strides[4]];
            }
        }
        s += double(r);
      }
      db.ptr<T>()[c] = T(s);
    }
  });
}

}  // namespace

void conv_bias_grad(const TensorView& db, const TensorView& gout) {
  TF_DISPATCH_FLOAT(gout.dtype, T, bias_grad_t<T>(db, gout));
}

void im2col(const TensorView& cols, const TensorView& x, const SpatialGeom& g) {
  TF_DISPATCH_FLOAT(x.dtype, T, im2col_t<T>(cols, x, g));
}

void col2im(const TensorView& dx, const TensorView& cols, const SpatialGeom& g) {
  TF_DISPATCH_FLOAT(dx.dtype, T, col2im_t<T>(dx, cols, g));
}

TF_KERNEL_NAMESPACE_END
