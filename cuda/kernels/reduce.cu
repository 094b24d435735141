// Reductions over the trailing dims of a strided tensor, on the device:
//
//   x: [O0, ..., Op-1, R0, ..., Rq-1]   out: [O0, ..., Op-1] contiguous;   out[o] = reduce_r x[o, r]
//
// One block per output element (grid-stride over outputs): its threads stride over the reduced
// elements and combine through warp shuffles and shared memory. Same semantics as
// native/kernels/reduce.cpp: float sums accumulate in double, Var is two-pass, LogSumExp subtracts
// the row max, Max/Min propagate NaN, ArgMax/ArgMin give the first index of the extreme (NaN counts
// as extreme) into the flattened reduced dims.
#include <cmath>
#include <type_traits>

#include "common.cuh"
#include "kernels.cuh"

namespace tf {
namespace cuda {

// The outer and the reduced dims of x, each as its own index space.
struct ReduceArgs {
  const void* x;
  void* out;
  int64_t outer, inner;
  int outer_ndim, inner_ndim;
  int64_t outer_shape[kMaxDims], outer_strides[kMaxDims];
  int64_t inner_shape[kMaxDims], inner_strides[kMaxDims];
  double correction;
};

TF_HD int64_t space_offset(int64_t i, int nd, const int64_t* shape, const int64_t* strides) {
  int64_t off = 0;
  for (int d = nd - 1; d >= 0; --d) {
    off += (i % shape[d]) * strides[d];
    i /= shape[d];
  }
  return off;
}

template <class T>
using Acc = typename std::conditional<std::is_floating_point<T>::value, double, long long>::type;

// (value, index) of the running extreme: NaN wins, then the larger (max) / smaller (min) value, then
// the lower index.
template <class T>
TF_HD bool better(T v, long long i, T best, long long best_i, bool is_max) {
  const bool vn = v != v, bn = best != best;
  if (vn || bn) return vn && (!bn || i < best_i);
  if (v == best) return i < best_i;
  return is_max ? v > best : v < best;
}

template <class T>
__global__ void reduce_kernel(ReduceArgs a, ReduceOp op) {
  TF_SHARED(double, scratch_d, [32]);
  TF_SHARED(long long, scratch_i, [32]);
  const T* x = static_cast<const T*>(a.x);
  for (int64_t o = blockIdx.x; o < a.outer; o += gridDim.x) {
    const T* row = x + space_offset(o, a.outer_ndim, a.outer_shape, a.outer_strides);
    auto at = [&](int64_t r) { return row[space_offset(r, a.inner_ndim, a.inner_shape, a.inner_strides)]; };
    const int64_t n = a.inner;
    switch (op) {
      case ReduceOp::Sum:
      case ReduceOp::Mean:
      case ReduceOp::Var: {
        Acc<T> s = 0;
        for (int64_t r = threadIdx.x; r < n; r += blockDim.x) s += Acc<T>(at(r));
        if constexpr (std::is_floating_point<T>::value) {
          s = block_sum<double>(s, scratch_d);
        } else {
          s = block_sum<long long>(s, scratch_i);
        }
        if (op == ReduceOp::Var) {
          const double mean = double(s) / double(n);
          double ss = 0;
          for (int64_t r = threadIdx.x; r < n; r += blockDim.x) {
            const double d = double(at(r)) - mean;
            ss += d * d;
          }
          ss = block_sum<double>(ss, scratch_d);
          const double denom = double(n) - a.correction;
          if (threadIdx.x == 0) static_cast<T*>(a.out)[o] = T(denom > 0 ? ss / denom : NAN);
        } else if (threadIdx.x == 0) {
          static_cast<T*>(a.out)[o] = op == ReduceOp::Mean ? T(double(s) / double(n)) : T(s);
        }
        break;
      }
      case ReduceOp::Prod: {
        // Few long products exist in practice; one thread keeps the CPU's order of multiplication.
        if (threadIdx.x == 0) {
          Acc<T> p = 1;
          for (int64_t r = 0; r < n; ++r) p *= Acc<T>(at(r));
          static_cast<T*>(a.out)[o] = T(p);
        }
        break;
      }
      case ReduceOp::Max:
      case ReduceOp::Min:
      case ReduceOp::ArgMax:
      case ReduceOp::ArgMin: {
        const bool is_max = op == ReduceOp::Max || op == ReduceOp::ArgMax;
        T best = at(0);
        long long best_i = 0;
        for (int64_t r = threadIdx.x; r < n; r += blockDim.x) {
          const T v = at(r);
          if (better(v, (long long)r, best, best_i, is_max)) {
            best = v;
            best_i = r;
          }
        }
        // Combine (value, index) pairs: first within each warp, then across warps through shared memory.
        for (int s = 16; s > 0; s >>= 1) {
          const T v = __shfl_xor_sync(0xffffffffu, best, s);
          const long long i = __shfl_xor_sync(0xffffffffu, best_i, s);
          if (better(v, i, best, best_i, is_max)) {
            best = v;
            best_i = i;
          }
        }
        __syncthreads();
        const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
        if (lane == 0) {
          scratch_d[warp] = double(best);
          scratch_i[warp] = best_i;
        }
        __syncthreads();
        if (threadIdx.x == 0) {
          for (int w = 1; w < int(blockDim.x / 32); ++w) {
            const T v = T(scratch_d[w]);
            if (better(v, scratch_i[w], best, best_i, is_max)) {
              best = v;
              best_i = scratch_i[w];
            }
          }
          if (op == ReduceOp::ArgMax || op == ReduceOp::ArgMin) static_cast<int32_t*>(a.out)[o] = int32_t(best_i);
          else static_cast<T*>(a.out)[o] = best;
        }
        break;
      }
      case ReduceOp::LogSumExp: {
        double m = -INFINITY;
        for (int64_t r = threadIdx.x; r < n; r += blockDim.x) m = fmax(m, double(at(r)));
        m = block_max<double>(m, scratch_d, -INFINITY);
        if (std::isinf(m)) {  // all -inf (or +inf present): lse is m itself
          if (threadIdx.x == 0) static_cast<T*>(a.out)[o] = T(m);
          break;
        }
        double s = 0;
        for (int64_t r = threadIdx.x; r < n; r += blockDim.x) s += std::exp(double(at(r)) - m);
        s = block_sum<double>(s, scratch_d);
        if (threadIdx.x == 0) static_cast<T*>(a.out)[o] = T(m + std::log(s));
        break;
      }
      case ReduceOp::Any:
      case ReduceOp::All: {
        const bool any = op == ReduceOp::Any;
        long long hits = 0;
        for (int64_t r = threadIdx.x; r < n; r += blockDim.x) hits += (at(r) != T(0)) == any;
        hits = block_sum<long long>(hits, scratch_i);
        if (threadIdx.x == 0) static_cast<uint8_t*>(a.out)[o] = uint8_t(any ? hits > 0 : hits == 0);
        break;
      }
      default: break;
    }
    __syncthreads();  // the next output's first block_sum reuses the scratch
  }
}

namespace {

void fill_space(const TensorView& x, int begin, int end, int* nd, int64_t* shape, int64_t* strides, int64_t* numel) {
  *nd = 0;
  *numel = 1;
  for (int d = begin; d < end; ++d) {
    *numel *= x.shape[d];
    if (x.shape[d] == 1) continue;
    if (*nd > 0 && strides[*nd - 1] == x.strides[d] * x.shape[d]) {
      shape[*nd - 1] *= x.shape[d];
      strides[*nd - 1] = x.strides[d];
    } else {
      shape[*nd] = x.shape[d];
      strides[*nd] = x.strides[d];
      ++*nd;
    }
  }
}

void reduce(ReduceOp op, const TensorView& out, const TensorView& x, int nreduce, double correction) {
  ReduceArgs a{};
  a.x = x.data;
  a.out = out.data;
  a.correction = correction;
  const int nout = x.ndim - nreduce;
  fill_space(x, 0, nout, &a.outer_ndim, a.outer_shape, a.outer_strides, &a.outer);
  fill_space(x, nout, x.ndim, &a.inner_ndim, a.inner_shape, a.inner_strides, &a.inner);
  if (a.outer == 0) return;
  if (a.inner == 0) {  // empty reductions: sum 0, prod 1, mean and var NaN, any false, all true (max/min rejected)
    const double v = op == ReduceOp::Prod ? 1 : (op == ReduceOp::Mean || op == ReduceOp::Var) ? NAN
                     : op == ReduceOp::All ? 1 : op == ReduceOp::LogSumExp ? -INFINITY : 0;
    kernels().fill(out, v);
    return;
  }
  const unsigned grid = unsigned(a.outer < 65535 ? a.outer : 65535);
  TF_DISPATCH_ALL(x.dtype, T, TF_LAUNCH(grid, kThreads, 0, device_stream(), reduce_kernel<T>)(a, op));
  check_launch("reduce");
}

}  // namespace

void register_reduce(KernelTable& t) { t.reduce = reduce; }

}  // namespace cuda
}  // namespace tf
