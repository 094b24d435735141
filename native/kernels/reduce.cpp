// Reductions over the trailing dims of a strided tensor.
//
//   x: [O0, ..., Op-1, R0, ..., Rq-1]  (lib/ permutes the reduced dims to the end, as a view)
//   out: [O0, ..., Op-1] contiguous;   out[o] = reduce_{r} x[o, r]
//
// Float sums accumulate in double (float32 inputs would otherwise lose digits over long rows); Var
// is two-pass (mean, then squared deviations); LogSumExp subtracts the row max before exp. Max/Min
// propagate NaN; ArgMax/ArgMin return the first index of the extreme value (NaN counts as extreme),
// as an index into the flattened reduced dims.
#include <limits>

#include "common.h"
#include "reduce.h"

TF_KERNEL_NAMESPACE_BEGIN

// Coalesced index space of one group of dims (outer or reduced).
struct Space {
  int ndim = 0;
  int64_t shape[kMaxDims];
  int64_t strides[kMaxDims];
  int64_t numel = 1;

  Space(const TensorView& x, int begin, int end) {
    for (int d = begin; d < end; ++d) {
      numel *= x.shape[d];
      if (x.shape[d] == 1) continue;
      if (ndim > 0 && strides[ndim - 1] == x.strides[d] * x.shape[d]) {
        shape[ndim - 1] *= x.shape[d];
        strides[ndim - 1] = x.strides[d];
      } else {
        shape[ndim] = x.shape[d];
        strides[ndim] = x.strides[d];
        ++ndim;
      }
    }
  }
  int64_t offset_of(int64_t linear) const {
    int64_t off = 0;
    for (int d = ndim - 1; d >= 0; --d) {
      off += (linear % shape[d]) * strides[d];
      linear /= shape[d];
    }
    return off;
  }
  // Calls f(element_pointer) for every element in row-major order.
  template <class T, class F>
  void for_each(const T* base, const F& f) const {
    if (ndim == 0) {
      if (numel == 1) f(base);
      return;
    }
    if (ndim == 1) {
      const int64_t n = shape[0], s = strides[0];
      for (int64_t i = 0; i < n; ++i) f(base + i * s);
      return;
    }
    for (int64_t i = 0; i < numel; ++i) f(base + offset_of(i));
  }
  bool contiguous_run() const { return ndim == 1 && strides[0] == 1; }
};

template <class T> using Acc = typename std::conditional<std::is_floating_point<T>::value, double, int64_t>::type;

template <class T>
void reduce_t(ReduceOp op, const TensorView& out, const TensorView& x, int nreduce, double correction) {
  const int nout = x.ndim - nreduce;
  const Space outer(x, 0, nout), inner(x, nout, x.ndim);
  const T* xd = x.ptr<T>();
  const int64_t n = inner.numel;
  const int64_t grain = n > 0 ? (kGrainElementwise + n - 1) / n : outer.numel;
  constexpr bool kFloat = std::is_floating_point<T>::value;

  // Few long contiguous rows (a full sum, a loss mean): split each row across the threads and add
  // the partial sums, since one row per thread would leave the other cores idle.
  if ((op == ReduceOp::Sum || op == ReduceOp::Mean) && inner.contiguous_run() && outer.numel < num_threads() &&
      n >= 4 * kGrainElementwise) {
    constexpr int kMaxChunks = 64;
    const int64_t chunks = num_threads() < kMaxChunks ? num_threads() : kMaxChunks;
    for (int64_t o = 0; o < outer.numel; ++o) {
      const T* row = xd + outer.offset_of(o);
      Acc<T> partial[kMaxChunks];
      parallel_for(0, chunks, 1, [&](int64_t lo, int64_t hi) {
        for (int64_t c = lo; c < hi; ++c) {
          const int64_t b = n * c / chunks, e = n * (c + 1) / chunks;
          partial[c] = sum_contiguous<T, Acc<T>>(row + b, e - b);
        }
      });
      Acc<T> acc = 0;
      for (int64_t c = 0; c < chunks; ++c) acc += partial[c];
      out.ptr<T>()[o] = op == ReduceOp::Mean ? T(double(acc) / double(n)) : T(acc);
    }
    return;
  }

  // Sums over leading dims when the kept dims are innermost and contiguous (a bias gradient: x [rows,
  // cols] summed to [cols]): add whole rows into a block of column sums, so the inner loop is a
  // contiguous vector add rather than one strided walk per output.
  if ((op == ReduceOp::Sum || op == ReduceOp::Mean) && outer.contiguous_run() && !inner.contiguous_run()) {
    constexpr int64_t kBlock = 256;
    parallel_for(0, outer.numel, 64, [&](int64_t lo, int64_t hi) {
      for (int64_t c0 = lo; c0 < hi; c0 += kBlock) {
        const int64_t w = hi - c0 < kBlock ? hi - c0 : kBlock;
        Acc<T> acc[kBlock];
        for (int64_t j = 0; j < w; ++j) acc[j] = 0;
        inner.for_each(xd + c0, [&](const T* row) {
          for (int64_t j = 0; j < w; ++j) acc[j] += Acc<T>(row[j]);
        });
        T* o = out.ptr<T>() + c0;
        for (int64_t j = 0; j < w; ++j) o[j] = op == ReduceOp::Mean ? T(double(acc[j]) / double(n)) : T(acc[j]);
      }
    });
    return;
  }

  parallel_for(0, outer.numel, grain, [&](int64_t lo, int64_t hi) {
    for (int64_t o = lo; o < hi; ++o) {
      const T* row = xd + outer.offset_of(o);
      switch (op) {
        case ReduceOp::Sum:
        case ReduceOp::Mean: {
          Acc<T> acc = 0;
          if (inner.contiguous_run()) {
            acc = sum_contiguous<T, Acc<T>>(row, n);
          } else {
            inner.for_each(row, [&](const T* p) { acc += Acc<T>(*p); });
          }
          if (op == ReduceOp::Mean) out.ptr<T>()[o] = T(double(acc) / double(n));
          else out.ptr<T>()[o] = T(acc);
          break;
        }
        case ReduceOp::Prod: {
          Acc<T> acc = 1;
          inner.for_each(row, [&](const T* p) { acc *= Acc<T>(*p); });
          out.ptr<T>()[o] = T(acc);
          break;
        }
        case ReduceOp::Max:
        case ReduceOp::Min: {
          const bool is_max = op == ReduceOp::Max;
          T best = *row;  // n > 0 is checked in lib/
          inner.for_each(row, [&](const T* p) {
            T v = *p;
            if (kFloat && v != v) best = v;
            else if (!(kFloat && best != best) && (is_max ? v > best : v < best)) best = v;
          });
          out.ptr<T>()[o] = best;
          break;
        }
        case ReduceOp::ArgMax:
        case ReduceOp::ArgMin: {
          const bool is_max = op == ReduceOp::ArgMax;
          T best = *row;
          int64_t best_i = 0, i = 0;
          bool found_nan = kFloat && best != best;
          inner.for_each(row, [&](const T* p) {
            T v = *p;
            if (!found_nan) {
              if (kFloat && v != v) {
                found_nan = true;
                best_i = i;
              } else if (is_max ? v > best : v < best) {
                best = v;
                best_i = i;
              }
            }
            ++i;
          });
          out.ptr<int32_t>()[o] = int32_t(best_i);
          break;
        }
        case ReduceOp::Var: {
          double sum = 0;
          inner.for_each(row, [&](const T* p) { sum += double(*p); });
          const double mean = sum / double(n);
          double ss = 0;
          inner.for_each(row, [&](const T* p) {
            double d = double(*p) - mean;
            ss += d * d;
          });
          const double denom = double(n) - correction;
          out.ptr<T>()[o] = T(denom > 0 ? ss / denom : std::numeric_limits<double>::quiet_NaN());
          break;
        }
        case ReduceOp::LogSumExp: {
          double m = -std::numeric_limits<double>::infinity();
          inner.for_each(row, [&](const T* p) { m = double(*p) > m ? double(*p) : m; });
          if (std::isinf(m)) {  // all -inf (or +inf present): lse is m itself
            out.ptr<T>()[o] = T(m);
            break;
          }
          double s = 0;
          inner.for_each(row, [&](const T* p) { s += std::exp(double(*p) - m); });
          out.ptr<T>()[o] = T(m + std::log(s));
          break;
        }
        case ReduceOp::Any:
        case ReduceOp::All: {
          const bool any = op == ReduceOp::Any;
          bool r = !any;
          inner.for_each(row, [&](const T* p) {
            if (any) r = r || (*p != T(0));
            else r = r && (*p != T(0));
          });
          out.ptr<uint8_t>()[o] = uint8_t(r);
          break;
        }
        default: break;
      }
    }
  });
}

void reduce(ReduceOp op, const TensorView& out, const TensorView& x, int nreduce, double correction) {
  TF_DISPATCH_ALL(x.dtype, T, reduce_t<T>(op, out, x, nreduce, correction));
}

TF_KERNEL_NAMESPACE_END
