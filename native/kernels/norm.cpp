// Layer and batch normalisation, forward and backward, each in one pass per statistic group
// (contiguous tensors; T = float or double; statistics accumulated in double).
//
// layer norm: x [rows, d]; per row r:  mean_r, rstd_r = 1 / sqrt(var_r + eps)   (biased variance)
//   y[r, j]  = (x[r, j] - mean_r) * rstd_r * w[j] + b[j]                  (w, b optional, [d])
//   backward, with xh = (x - mean) * rstd and gh = g * w:
//   dx[r, j] = rstd_r * (gh[r, j] - mean_j(gh[r, :]) - xh[r, j] * mean_j(gh[r, :] * xh[r, :]))
//   dw[j] = sum_r g[r, j] * xh[r, j],   db[j] = sum_r g[r, j]
//
// batch norm: x [n, c, s]; per channel k over (n, s): mean_k and rstd_k (training: the batch's,
// and the running statistics move by momentum, with the unbiased variance; eval: the running ones)
//   y[i, k, t] = (x[i, k, t] - mean_k) * rstd_k * w[k] + b[k]
//   backward (training): dx = w_k * rstd_k * (g - mean(g) - xh * mean(g * xh)) over the channel's
//   elements; (eval): dx = g * w_k * rstd_k. dw[k] = sum g * xh, db[k] = sum g.
#include <cmath>
#include <cstdlib>

#include "norm.h"
#include "norm_coefs.h"

TF_KERNEL_NAMESPACE_BEGIN

namespace {

// sum_j f(j) for j < n in double, over 8 independent lanes: one running sum is a chain of dependent
// adds that neither vectorises nor pipelines (it made layer norm 4x slower than memory allows).
template <class F>
inline double lane_sum(int64_t n, const F& f) {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t j = 0;
  for (; j + 8 <= n; j += 8)
    for (int l = 0; l < 8; ++l) acc[l] += f(j + l);
  double tail = 0;
  for (; j < n; ++j) tail += f(j);
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7])) + tail;
}

template <class T>
void layer_norm_t(T* y, T* mean, T* rstd, const T* x, const T* w, const T* b, int64_t rows, int64_t d, double eps) {
  parallel_for(0, rows, d >= kGrainElementwise ? 1 : kGrainElementwise / (d + 1) + 1, [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) {
      const T* xr = x + r * d;
      T* yr = y + r * d;
      const double mu = lane_sum(d, [&](int64_t j) { return double(xr[j]); }) / double(d);
      const double sq = lane_sum(d, [&](int64_t j) {
        const double v = double(xr[j]) - mu;
        return v * v;
      });
      const double rs = 1.0 / std::sqrt(sq / double(d) + eps);
      mean[r] = T(mu);
      rstd[r] = T(rs);
      const T m = T(mu), s = T(rs);
      if (w && b) {
        for (int64_t j = 0; j < d; ++j) yr[j] = (xr[j] - m) * s * w[j] + b[j];
      } else if (w) {
        for (int64_t j = 0; j < d; ++j) yr[j] = (xr[j] - m) * s * w[j];
      } else if (b) {
        for (int64_t j = 0; j < d; ++j) yr[j] = (xr[j] - m) * s + b[j];
      } else {
        for (int64_t j = 0; j < d; ++j) yr[j] = (xr[j] - m) * s;
      }
    }
  });
}

template <class T>
void layer_norm_backward_t(T* dx, T* dw, T* db, const T* g, const T* x, const T* mean, const T* rstd, const T* w,
                           int64_t rows, int64_t d) {
  if (dx) {
    parallel_for(0, rows, d >= kGrainElementwise ? 1 : kGrainElementwise / (d + 1) + 1, [&](int64_t lo, int64_t hi) {
      for (int64_t r = lo; r < hi; ++r) {
        const T* xr = x + r * d;
        const T* gr = g + r * d;
        const double m = double(mean[r]), s = double(rstd[r]);
        const double sum_gh = w ? lane_sum(d, [&](int64_t j) { return double(gr[j]) * double(w[j]); })
                                : lane_sum(d, [&](int64_t j) { return double(gr[j]); });
        const double sum_ghxh =
            w ? lane_sum(d, [&](int64_t j) { return double(gr[j]) * double(w[j]) * (double(xr[j]) - m) * s; })
              : lane_sum(d, [&](int64_t j) { return double(gr[j]) * (double(xr[j]) - m) * s; });
        const T a = T(sum_gh / double(d)), c = T(sum_ghxh / double(d)), sT = T(s), mT = T(m);
        T* dr = dx + r * d;
        for (int64_t j = 0; j < d; ++j) {
          const T gh = w ? gr[j] * w[j] : gr[j];
          dr[j] = sT * (gh - a - (xr[j] - mT) * sT * c);
        }
      }
    });
  }
  if (dw || db) {
    // Columns in parallel: each thread sums its own range of j over every row.
    parallel_for(0, d, rows >= kGrainElementwise ? 1 : kGrainElementwise / (rows + 1) + 1, [&](int64_t lo, int64_t hi) {
      const int64_t span = hi - lo;
      double* acc = static_cast<double*>(std::calloc(size_t(2 * span), sizeof(double)));
      if (!acc) return;
      for (int64_t r = 0; r < rows; ++r) {
        const T* xr = x + r * d;
        const T* gr = g + r * d;
        const T m = mean[r], s = rstd[r];
        for (int64_t j = lo; j < hi; ++j) {
          acc[j - lo] += double(gr[j]) * double((xr[j] - m) * s);
          acc[span + j - lo] += double(gr[j]);
        }
      }
      for (int64_t j = lo; j < hi; ++j) {
        if (dw) dw[j] = T(acc[j - lo]);
        if (db) db[j] = T(acc[span + j - lo]);
      }
      std::free(acc);
    });
  }
}

template <class T>
void batch_norm_t(T* y, T* save_mean, T* save_rstd, T* running_mean, T* running_var, const T* x, const T* w,
                  const T* b, int64_t n, int64_t c, int64_t s, bool training, double momentum, double eps) {
  const int64_t count = n * s;
  parallel_for(0, c, count >= kGrainElementwise ? 1 : kGrainElementwise / (count + 1) + 1, [&](int64_t lo, int64_t hi) {
    for (int64_t k = lo; k < hi; ++k) {
      double mu, var;
      if (training) {
        double sum = 0;
        for (int64_t i = 0; i < n; ++i) {
          const T* xp = x + (i * c + k) * s;
          for (int64_t t = 0; t < s; ++t) sum += xp[t];
        }
        mu = count > 0 ? sum / double(count) : 0.0;
        double sq = 0;
        for (int64_t i = 0; i < n; ++i) {
          const T* xp = x + (i * c + k) * s;
          for (int64_t t = 0; t < s; ++t) {
            const double v = double(xp[t]) - mu;
            sq += v * v;
          }
        }
        var = count > 0 ? sq / double(count) : 0.0;
        if (running_mean && running_var && count > 1) {
          running_mean[k] = T((1 - momentum) * double(running_mean[k]) + momentum * mu);
          running_var[k] = T((1 - momentum) * double(running_var[k]) + momentum * var * double(count) / double(count - 1));
        }
      } else {
        mu = double(running_mean[k]);
        var = double(running_var[k]);
      }
      const double rs = 1.0 / std::sqrt(var + eps);
      save_mean[k] = T(mu);
      save_rstd[k] = T(rs);
      // y = x * scale + shift, with the affine folded in.
      const T scale = T(rs * (w ? double(w[k]) : 1.0));
      const T shift = T((b ? double(b[k]) : 0.0) - mu * rs * (w ? double(w[k]) : 1.0));
      for (int64_t i = 0; i < n; ++i) {
        const T* xp = x + (i * c + k) * s;
        T* yp = y + (i * c + k) * s;
        for (int64_t t = 0; t < s; ++t) yp[t] = xp[t] * scale + shift;
      }
    }
  });
}

template <class T>
void batch_norm_backward_t(T* dx, T* dw, T* db, const T* g, const T* x, const T* mean, const T* rstd, const T* w,
                           int64_t n, int64_t c, int64_t s, bool training) {
  const int64_t count = n * s;
  parallel_for(0, c, count >= kGrainElementwise ? 1 : kGrainElementwise / (count + 1) + 1, [&](int64_t lo, int64_t hi) {
    for (int64_t k = lo; k < hi; ++k) {
      const double m = double(mean[k]), rs = double(rstd[k]);
      double sum_g = 0, sum_gxh = 0;
      for (int64_t i = 0; i < n; ++i) {
        const T* xp = x + (i * c + k) * s;
        const T* gp = g + (i * c + k) * s;
        for (int64_t t = 0; t < s; ++t) {
          sum_g += gp[t];
          sum_gxh += double(gp[t]) * (double(xp[t]) - m) * rs;
        }
      }
      if (dw) dw[k] = T(sum_gxh);
      if (db) db[k] = T(sum_g);
      if (!dx) continue;
      const BatchNormBackwardCoefs co = batch_norm_backward_coefs(w ? double(w[k]) : 1.0, m, rs, sum_g, sum_gxh, count, training);
      const T aT = T(co.a), bT = T(co.b), cT = T(co.c);
      for (int64_t i = 0; i < n; ++i) {
        const T* xp = x + (i * c + k) * s;
        const T* gp = g + (i * c + k) * s;
        T* dp = dx + (i * c + k) * s;
        for (int64_t t = 0; t < s; ++t) dp[t] = aT * gp[t] + bT * xp[t] + cT;
      }
    }
  });
}

}  // namespace

void layer_norm(void* y, void* mean, void* rstd, const void* x, const void* w, const void* b, int32_t dtype, int64_t rows,
                int64_t d, double eps) {
  TF_DISPATCH_FLOAT(dtype, T,
                    layer_norm_t<T>(static_cast<T*>(y), static_cast<T*>(mean), static_cast<T*>(rstd),
                                    static_cast<const T*>(x), static_cast<const T*>(w), static_cast<const T*>(b), rows, d,
                                    eps));
}

void layer_norm_backward(void* dx, void* dw, void* db, const void* g, const void* x, const void* mean, const void* rstd,
                         const void* w, int32_t dtype, int64_t rows, int64_t d) {
  TF_DISPATCH_FLOAT(dtype, T,
                    layer_norm_backward_t<T>(static_cast<T*>(dx), static_cast<T*>(dw), static_cast<T*>(db),
                                             static_cast<const T*>(g), static_cast<const T*>(x),
                                             static_cast<const T*>(mean), static_cast<const T*>(rstd),
                                             static_cast<const T*>(w), rows, d));
}

void batch_norm(void* y, void* save_mean, void* save_rstd, void* running_mean, void* running_var, const void* x,
                const void* w, const void* b, int32_t dtype, int64_t n, int64_t c, int64_t s, bool training,
                double momentum, double eps) {
  TF_DISPATCH_FLOAT(dtype, T,
                    batch_norm_t<T>(static_cast<T*>(y), static_cast<T*>(save_mean), static_cast<T*>(save_rstd),
                                    static_cast<T*>(running_mean), static_cast<T*>(running_var), static_cast<const T*>(x),
                                    static_cast<const T*>(w), static_cast<const T*>(b), n, c, s, training, momentum, eps));
}

void batch_norm_backward(void* dx, void* dw, void* db, const void* g, const void* x, const void* mean, const void* rstd,
                         const void* w, int32_t dtype, int64_t n, int64_t c, int64_t s, bool training) {
  TF_DISPATCH_FLOAT(dtype, T,
                    batch_norm_backward_t<T>(static_cast<T*>(dx), static_cast<T*>(dw), static_cast<T*>(db),
                                             static_cast<const T*>(g), static_cast<const T*>(x),
                                             static_cast<const T*>(mean), static_cast<const T*>(rstd),
                                             static_cast<const T*>(w), n, c, s, training));
}

TF_KERNEL_NAMESPACE_END
