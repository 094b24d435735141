// Layer and batch normalisation on the device, forward and backward, as native/kernels/norm.cpp
// (contiguous operands, statistics in double, optional weight/bias/gradients null):
//
// layer norm: x [rows, d]; per row r:  mean_r, rstd_r = 1 / sqrt(var_r + eps)   (biased variance)
//   y[r, j]  = (x[r, j] - mean_r) * rstd_r * w[j] + b[j]
//   dx[r, j] = rstd_r * (gh[r, j] - mean_j(gh) - xh[r, j] * mean_j(gh * xh)),  gh = g * w, xh = (x - mean) * rstd
//   dw[j] = sum_r g[r, j] * xh[r, j],   db[j] = sum_r g[r, j]
// batch norm: x [n, c, s]; per channel k over (n, s) (training: batch statistics, running ones moved
//   by momentum with the unbiased variance; eval: the running ones)
//   y = (x - mean_k) * rstd_k * w[k] + b[k];  dx (training) = w_k rstd_k (g - mean(g) - xh mean(g xh)),
//   (eval) dx = g w_k rstd_k;  dw[k] = sum g xh, db[k] = sum g
//
// Row and channel statistics take one block each (block_sum); the layer-norm weight gradients one
// thread per column, summing rows in order.
#include <cmath>

#include "../../native/kernels/norm_coefs.h"
#include "common.cuh"
#include "kernels.cuh"

namespace tf {
namespace cuda {

template <class T>
__global__ void layer_norm_kernel(T* y, T* mean, T* rstd, const T* x, const T* w, const T* b, int64_t rows, int64_t d,
                                  double eps) {
  TF_SHARED(double, scratch, [32]);
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* xr = x + r * d;
    T* yr = y + r * d;
    double s = 0;
    for (int64_t j = threadIdx.x; j < d; j += blockDim.x) s += double(xr[j]);
    const double mu = block_sum<double>(s, scratch) / double(d);
    double sq = 0;
    for (int64_t j = threadIdx.x; j < d; j += blockDim.x) {
      const double v = double(xr[j]) - mu;
      sq += v * v;
    }
    const double rs = 1.0 / std::sqrt(block_sum<double>(sq, scratch) / double(d) + eps);
    if (threadIdx.x == 0) {
      mean[r] = T(mu);
      rstd[r] = T(rs);
    }
    const T m = T(mu), sc = T(rs);
    for (int64_t j = threadIdx.x; j < d; j += blockDim.x) {
      T v = (xr[j] - m) * sc;
      if (w) v = v * w[j];
      if (b) v = v + b[j];
      yr[j] = v;
    }
  }
}

template <class T>
__global__ void layer_norm_backward_kernel(T* dx, const T* g, const T* x, const T* mean, const T* rstd, const T* w,
                                           int64_t rows, int64_t d) {
  TF_SHARED(double, scratch, [32]);
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* xr = x + r * d;
    const T* gr = g + r * d;
    const double m = double(mean[r]), s = double(rstd[r]);
    double sg = 0, sgx = 0;
    for (int64_t j = threadIdx.x; j < d; j += blockDim.x) {
      const double gh = w ? double(gr[j]) * double(w[j]) : double(gr[j]);
      sg += gh;
      sgx += gh * (double(xr[j]) - m) * s;
    }
    sg = block_sum<double>(sg, scratch);
    sgx = block_sum<double>(sgx, scratch);
    const T a = T(sg / double(d)), c = T(sgx / double(d)), sT = T(s), mT = T(m);
    T* dr = dx + r * d;
    for (int64_t j = threadIdx.x; j < d; j += blockDim.x) {
      const T gh = w ? gr[j] * w[j] : gr[j];
      dr[j] = sT * (gh - a - (xr[j] - mT) * sT * c);
    }
  }
}

template <class T>
__global__ void layer_norm_param_grads_kernel(T* dw, T* db, const T* g, const T* x, const T* mean, const T* rstd,
                                              int64_t rows, int64_t d) {
  for (int64_t j = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; j < d; j += int64_t(gridDim.x) * blockDim.x) {
    double aw = 0, ab = 0;
    for (int64_t r = 0; r < rows; ++r) {
      const T gv = g[r * d + j];
      aw += double(gv) * double((x[r * d + j] - mean[r]) * rstd[r]);
      ab += double(gv);
    }
    if (dw) dw[j] = T(aw);
    if (db) db[j] = T(ab);
  }
}

template <class T>
__global__ void batch_norm_kernel(T* y, T* save_mean, T* save_rstd, T* running_mean, T* running_var, const T* x,
                                  const T* w, const T* b, int64_t n, int64_t c, int64_t s, bool training,
                                  double momentum, double eps) {
  TF_SHARED(double, scratch, [32]);
  const int64_t count = n * s;
  for (int64_t k = blockIdx.x; k < c; k += gridDim.x) {
    double mu, var;
    if (training) {
      double sum = 0;
      for (int64_t e = threadIdx.x; e < count; e += blockDim.x) sum += double(x[((e / s) * c + k) * s + e % s]);
      sum = block_sum<double>(sum, scratch);
      mu = count > 0 ? sum / double(count) : 0.0;
      double sq = 0;
      for (int64_t e = threadIdx.x; e < count; e += blockDim.x) {
        const double v = double(x[((e / s) * c + k) * s + e % s]) - mu;
        sq += v * v;
      }
      sq = block_sum<double>(sq, scratch);
      var = count > 0 ? sq / double(count) : 0.0;
      if (threadIdx.x == 0 && running_mean && running_var && count > 1) {
        running_mean[k] = T((1 - momentum) * double(running_mean[k]) + momentum * mu);
        running_var[k] = T((1 - momentum) * double(running_var[k]) + momentum * var * double(count) / double(count - 1));
      }
    } else {
      mu = double(running_mean[k]);
      var = double(running_var[k]);
    }
    const double rs = 1.0 / std::sqrt(var + eps);
    if (threadIdx.x == 0) {
      save_mean[k] = T(mu);
      save_rstd[k] = T(rs);
    }
    const T scale = T(rs * (w ? double(w[k]) : 1.0));
    const T shift = T((b ? double(b[k]) : 0.0) - mu * rs * (w ? double(w[k]) : 1.0));
    for (int64_t e = threadIdx.x; e < count; e += blockDim.x) {
      const int64_t i = ((e / s) * c + k) * s + e % s;
      y[i] = x[i] * scale + shift;
    }
    __syncthreads();  // thread 0's running-statistics read above precedes the next channel's
  }
}

template <class T>
__global__ void batch_norm_backward_kernel(T* dx, T* dw, T* db, const T* g, const T* x, const T* mean, const T* rstd,
                                           const T* w, int64_t n, int64_t c, int64_t s, bool training) {
  TF_SHARED(double, scratch, [32]);
  const int64_t count = n * s;
  for (int64_t k = blockIdx.x; k < c; k += gridDim.x) {
    const double m = double(mean[k]), rs = double(rstd[k]);
    double sum_g = 0, sum_gxh = 0;
    for (int64_t e = threadIdx.x; e < count; e += blockDim.x) {
      const int64_t i = ((e / s) * c + k) * s + e % s;
      sum_g += double(g[i]);
      sum_gxh += double(g[i]) * (double(x[i]) - m) * rs;
    }
    sum_g = block_sum<double>(sum_g, scratch);
    sum_gxh = block_sum<double>(sum_gxh, scratch);
    if (threadIdx.x == 0) {
      if (dw) dw[k] = T(sum_gxh);
      if (db) db[k] = T(sum_g);
    }
    if (!dx) continue;
    const BatchNormBackwardCoefs co = batch_norm_backward_coefs(w ? double(w[k]) : 1.0, m, rs, sum_g, sum_gxh, count, training);
    const T aT = T(co.a), bT = T(co.b), cT = T(co.c);
    for (int64_t e = threadIdx.x; e < count; e += blockDim.x) {
      const int64_t i = ((e / s) * c + k) * s + e % s;
      dx[i] = aT * g[i] + bT * x[i] + cT;
    }
  }
}

namespace {

template <class T> T* as(void* q) { return static_cast<T*>(q); }
template <class T> const T* as(const void* q) { return static_cast<const T*>(q); }
unsigned blocks_for(int64_t groups) { return unsigned(groups < 65535 ? (groups > 0 ? groups : 1) : 65535); }

void layer_norm(void* y, void* mean, void* rstd, const void* x, const void* w, const void* b, int32_t dtype, int64_t rows,
                int64_t d, double eps) {
  if (rows == 0) return;
  TF_DISPATCH_FLOAT(dtype, T,
                    TF_LAUNCH(blocks_for(rows), kThreads, 0, device_stream(), layer_norm_kernel<T>)(
                        as<T>(y), as<T>(mean), as<T>(rstd), as<T>(x), as<T>(w), as<T>(b), rows, d, eps));
  check_launch("layerNorm");
}

void layer_norm_backward(void* dx, void* dw, void* db, const void* g, const void* x, const void* mean, const void* rstd,
                         const void* w, int32_t dtype, int64_t rows, int64_t d) {
  if (dx && rows > 0) {
    TF_DISPATCH_FLOAT(dtype, T,
                      TF_LAUNCH(blocks_for(rows), kThreads, 0, device_stream(), layer_norm_backward_kernel<T>)(
                          as<T>(dx), as<T>(g), as<T>(x), as<T>(mean), as<T>(rstd), as<T>(w), rows, d));
  }
  if ((dw || db) && d > 0) {
    TF_DISPATCH_FLOAT(dtype, T,
                      TF_LAUNCH(grid_for(d), kThreads, 0, device_stream(), layer_norm_param_grads_kernel<T>)(
                          as<T>(dw), as<T>(db), as<T>(g), as<T>(x), as<T>(mean), as<T>(rstd), rows, d));
  }
  check_launch("layerNormBackward");
}

void batch_norm(void* y, void* save_mean, void* save_rstd, void* running_mean, void* running_var, const void* x,
                const void* w, const void* b, int32_t dtype, int64_t n, int64_t c, int64_t s, bool training,
                double momentum, double eps) {
  if (c == 0) return;
  TF_DISPATCH_FLOAT(dtype, T,
                    TF_LAUNCH(blocks_for(c), kThreads, 0, device_stream(), batch_norm_kernel<T>)(
                        as<T>(y), as<T>(save_mean), as<T>(save_rstd), as<T>(running_mean), as<T>(running_var), as<T>(x),
                        as<T>(w), as<T>(b), n, c, s, training, momentum, eps));
  check_launch("batchNorm");
}

void batch_norm_backward(void* dx, void* dw, void* db, const void* g, const void* x, const void* mean, const void* rstd,
                         const void* w, int32_t dtype, int64_t n, int64_t c, int64_t s, bool training) {
  if (c == 0) return;
  TF_DISPATCH_FLOAT(dtype, T,
                    TF_LAUNCH(blocks_for(c), kThreads, 0, device_stream(), batch_norm_backward_kernel<T>)(
                        as<T>(dx), as<T>(dw), as<T>(db), as<T>(g), as<T>(x), as<T>(mean), as<T>(rstd), as<T>(w), n, c,
                        s, training));
  check_launch("batchNormBackward");
}

}  // namespace

void register_norm(KernelTable& t) {
  t.layer_norm = layer_norm;
  t.layer_norm_backward = layer_norm_backward;
  t.batch_norm = batch_norm;
  t.batch_norm_backward = batch_norm_backward;
}

}  // namespace cuda
}  // namespace tf
