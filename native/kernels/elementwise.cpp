// Elementwise kernels: unary ops and their derivatives, binary ops, where, copy (with dtype casts)
// and fill. All take strided, broadcast views (see StridedIter in common.h) and write `out`.
//
//   unary:           out[i] = f(x[i])
//   unary_backward:  dx[i]  = g[i] * f'(x[i])      (written with y = f(x) where that is cheaper)
//   binary:          out[i] = a[i] (op) b[i]
//   where:           out[i] = cond[i] ? a[i] : b[i]
//   copy:            out[i] = (Tout) x[i]
#include <limits>

#include "common.h"
#include "elementwise.h"

TF_KERNEL_NAMESPACE_BEGIN

constexpr double kSqrt1_2 = 0.70710678118654752440;
constexpr double kInvSqrt2Pi = 0.39894228040143267794;
constexpr double kSqrt2OverPi = 0.79788456080286535588;

// One run of n elements: contiguous runs get a plain indexed loop the compiler vectorises. `flatten`
// makes GCC inline the op's lambda into every loop even when it is large (GELU's gradient: erf and
// exp), since a call per element would keep the loop scalar. TO, TA, ... are storage types: the
// lambda takes and returns their arithmetic types (half.h: float for float16/bfloat16, else the
// type itself, where widen and narrow are no-ops).
template <class TO, class TA, class F>
__attribute__((flatten)) inline void run1(char* const* p, const int64_t* s, int64_t n, const F& f) {
  if (s[0] == (int64_t)sizeof(TO) && s[1] == (int64_t)sizeof(TA)) {
    TO* o = reinterpret_cast<TO*>(p[0]);
    const TA* a = reinterpret_cast<const TA*>(p[1]);
    for (int64_t i = 0; i < n; ++i) o[i] = narrow<TO>(f(widen(a[i])));
  } else {
    for (int64_t i = 0; i < n; ++i)
      *reinterpret_cast<TO*>(p[0] + i * s[0]) = narrow<TO>(f(widen(*reinterpret_cast<const TA*>(p[1] + i * s[1]))));
  }
}

template <class TO, class TA, class TB, class F>
__attribute__((flatten)) inline void run2(char* const* p, const int64_t* s, int64_t n, const F& f) {
  TO* o = reinterpret_cast<TO*>(p[0]);
  const TA* a = reinterpret_cast<const TA*>(p[1]);
  const TB* b = reinterpret_cast<const TB*>(p[2]);
  const bool oc = s[0] == (int64_t)sizeof(TO);
  if (oc && s[1] == (int64_t)sizeof(TA) && s[2] == (int64_t)sizeof(TB)) {
    for (int64_t i = 0; i < n; ++i) o[i] = narrow<TO>(f(widen(a[i]), widen(b[i])));
  } else if (oc && s[1] == (int64_t)sizeof(TA) && s[2] == 0) {
    const Arith<TB> bv = widen(*b);
    for (int64_t i = 0; i < n; ++i) o[i] = narrow<TO>(f(widen(a[i]), bv));
  } else if (oc && s[1] == 0 && s[2] == (int64_t)sizeof(TB)) {
    const Arith<TA> av = widen(*a);
    for (int64_t i = 0; i < n; ++i) o[i] = narrow<TO>(f(av, widen(b[i])));
  } else {
    for (int64_t i = 0; i < n; ++i)
      *reinterpret_cast<TO*>(p[0] + i * s[0]) = narrow<TO>(
          f(widen(*reinterpret_cast<const TA*>(p[1] + i * s[1])), widen(*reinterpret_cast<const TB*>(p[2] + i * s[2]))));
  }
}

template <class TO, class TA, class TB, class TC, class F>
__attribute__((flatten)) inline void run3(char* const* p, const int64_t* s, int64_t n, const F& f) {
  for (int64_t i = 0; i < n; ++i)
    *reinterpret_cast<TO*>(p[0] + i * s[0]) = narrow<TO>(
        f(widen(*reinterpret_cast<const TA*>(p[1] + i * s[1])), widen(*reinterpret_cast<const TB*>(p[2] + i * s[2])),
          widen(*reinterpret_cast<const TC*>(p[3] + i * s[3]))));
}

template <class TO, class TA, class F>
void map1(const TensorView& out, const TensorView& a, const F& f) {
  const TensorView* v[2] = {&out, &a};
  StridedIter<2> it(v);
  it.for_each_run([&](char* const* p, const int64_t* s, int64_t n) { run1<TO, TA>(p, s, n, f); });
}

template <class TO, class TA, class TB, class F>
void map2(const TensorView& out, const TensorView& a, const TensorView& b, const F& f) {
  const TensorView* v[3] = {&out, &a, &b};
  StridedIter<3> it(v);
  it.for_each_run([&](char* const* p, const int64_t* s, int64_t n) { run2<TO, TA, TB>(p, s, n, f); });
}

template <class TO, class TA, class TB, class TC, class F>
void map3(const TensorView& out, const TensorView& a, const TensorView& b, const TensorView& c, const F& f) {
  const TensorView* v[4] = {&out, &a, &b, &c};
  StridedIter<4> it(v);
  it.for_each_run([&](char* const* p, const int64_t* s, int64_t n) { run3<TO, TA, TB, TC>(p, s, n, f); });
}

template <class T> inline bool isnan_(T x) { return x != x; }

// The type in which T's arithmetic wraps around instead of overflowing (floats: T itself).
template <class T, bool = std::is_integral<T>::value> struct Wrap { using type = T; };
template <class T> struct Wrap<T, true> { using type = typename std::make_unsigned<T>::type; };

// ---- unary ---------------------------------------------------------------------------------------

template <class M>
void unary_float(UnaryOp op, const TensorView& out, const TensorView& x, const double* prm) {
  using T = Arith<M>;
  switch (op) {
    case UnaryOp::Neg: map1<M, M>(out, x, [](T v) { return -v; }); break;
    case UnaryOp::Abs: map1<M, M>(out, x, [](T v) { return std::fabs(v); }); break;
    case UnaryOp::Exp: map1<M, M>(out, x, [](T v) { return exp_(v); }); break;
    case UnaryOp::Log: map1<M, M>(out, x, [](T v) { return std::log(v); }); break;
    case UnaryOp::Log1p: map1<M, M>(out, x, [](T v) { return std::log1p(v); }); break;
    case UnaryOp::Sqrt: map1<M, M>(out, x, [](T v) { return std::sqrt(v); }); break;
    case UnaryOp::Rsqrt: map1<M, M>(out, x, [](T v) { return T(1) / std::sqrt(v); }); break;
    case UnaryOp::Sin: map1<M, M>(out, x, [](T v) { return std::sin(v); }); break;
    case UnaryOp::Cos: map1<M, M>(out, x, [](T v) { return std::cos(v); }); break;
    case UnaryOp::Tanh: map1<M, M>(out, x, [](T v) { return tanh_(v); }); break;
    case UnaryOp::Sigmoid: map1<M, M>(out, x, [](T v) { return sigmoid(v); }); break;
    case UnaryOp::Relu: map1<M, M>(out, x, [](T v) { return v > T(0) || isnan_(v) ? v : T(0); }); break;
    case UnaryOp::Gelu:
      map1<M, M>(out, x, [](T v) { return T(0.5) * v * (T(1) + erf_(v * T(kSqrt1_2))); });
      break;
    case UnaryOp::GeluTanh:
      map1<M, M>(out, x, [](T v) {
        return T(0.5) * v * (T(1) + tanh_(T(kSqrt2OverPi) * (v + T(0.044715) * v * v * v)));
      });
      break;
    case UnaryOp::Silu: map1<M, M>(out, x, [](T v) { return v * sigmoid(v); }); break;
    case UnaryOp::Clamp: {
      const double lo = prm[0], hi = prm[1];
      const bool has_lo = !std::isnan(lo), has_hi = !std::isnan(hi);
      const T tlo = T(lo), thi = T(hi);
      map1<M, M>(out, x, [=](T v) {
        if (has_lo && v < tlo) v = tlo;
        if (has_hi && v > thi) v = thi;
        return v;
      });
      break;
    }
    case UnaryOp::PowScalar: {
      const T e = T(prm[0]);
      if (e == T(2)) map1<M, M>(out, x, [](T v) { return v * v; });
      else if (e == T(1)) map1<M, M>(out, x, [](T v) { return v; });
      else if (e == T(0.5)) map1<M, M>(out, x, [](T v) { return std::sqrt(v); });
      else if (e == T(-1)) map1<M, M>(out, x, [](T v) { return T(1) / v; });
      else map1<M, M>(out, x, [=](T v) { return std::pow(v, e); });
      break;
    }
    case UnaryOp::LeakyRelu: {
      const T slope = T(prm[0]);
      map1<M, M>(out, x, [=](T v) { return v > T(0) ? v : v * slope; });
      break;
    }
    case UnaryOp::Sign:
      map1<M, M>(out, x, [](T v) { return isnan_(v) ? v : T((v > T(0)) - (v < T(0))); });
      break;
    case UnaryOp::Expm1: map1<M, M>(out, x, [](T v) { return std::expm1(v); }); break;
    case UnaryOp::Square: map1<M, M>(out, x, [](T v) { return v * v; }); break;
    case UnaryOp::Reciprocal: map1<M, M>(out, x, [](T v) { return T(1) / v; }); break;
    case UnaryOp::Floor: map1<M, M>(out, x, [](T v) { return std::floor(v); }); break;
    case UnaryOp::Ceil: map1<M, M>(out, x, [](T v) { return std::ceil(v); }); break;
    case UnaryOp::Round: map1<M, M>(out, x, [](T v) { return std::nearbyint(v); }); break;
    case UnaryOp::LogicalNot: map1<uint8_t, M>(out, x, [](T v) { return uint8_t(v == T(0)); }); break;
    default: break;
  }
}

// Integer and bool tensors support the ops that stay in the integers (lib/ checks this).
template <class T>
void unary_int(UnaryOp op, const TensorView& out, const TensorView& x, const double* prm) {
  using U = typename std::conditional<sizeof(T) == 4, uint32_t, uint8_t>::type;  // wrap-around arithmetic
  switch (op) {
    case UnaryOp::Neg: map1<T, T>(out, x, [](T v) { return T(U(0) - U(v)); }); break;
    case UnaryOp::Abs: map1<T, T>(out, x, [](T v) { return v < T(0) ? T(U(0) - U(v)) : v; }); break;
    case UnaryOp::Relu: map1<T, T>(out, x, [](T v) { return v > T(0) ? v : T(0); }); break;
    case UnaryOp::Square: map1<T, T>(out, x, [](T v) { return T(U(v) * U(v)); }); break;
    case UnaryOp::Sign: map1<T, T>(out, x, [](T v) { return T((v > T(0)) - (v < T(0))); }); break;
    case UnaryOp::Clamp: {
      const double lo = prm[0], hi = prm[1];
      map1<T, T>(out, x, [=](T v) {
        double d = double(v);
        if (!std::isnan(lo) && d < lo) d = std::ceil(lo);
        if (!std::isnan(hi) && d > hi) d = std::floor(hi);
        return T(d);
      });
      break;
    }
    case UnaryOp::LogicalNot: map1<uint8_t, T>(out, x, [](T v) { return uint8_t(v == T(0)); }); break;
    default: break;
  }
}

void unary(UnaryOp op, const TensorView& out, const TensorView& x, const double* params) {
  switch (x.dtype) {
    case kFloat32: unary_float<float>(op, out, x, params); break;
    case kFloat64: unary_float<double>(op, out, x, params); break;
    case kInt32: unary_int<int32_t>(op, out, x, params); break;
    case kBool: unary_int<uint8_t>(op, out, x, params); break;
    case kFloat16: unary_float<float16_t>(op, out, x, params); break;
    case kBFloat16: unary_float<bfloat16_t>(op, out, x, params); break;
    default: break;
  }
}

template <class M>
void unary_backward_t(UnaryOp op, const TensorView& dx, const TensorView& g, const TensorView& x,
                      const TensorView& y, const double* prm) {
  using T = Arith<M>;
  // Most derivatives need g and one of x or y.
  auto gx = [&](auto f) { map2<M, M, M>(dx, g, x, f); };
  auto gy = [&](auto f) { map2<M, M, M>(dx, g, y, f); };
  switch (op) {
    case UnaryOp::Neg: map1<M, M>(dx, g, [](T gv) { return -gv; }); break;
    case UnaryOp::Abs: gx([](T gv, T v) { return v > T(0) ? gv : (v < T(0) ? -gv : T(0)); }); break;
    case UnaryOp::Exp: gy([](T gv, T yv) { return gv * yv; }); break;
    case UnaryOp::Log: gx([](T gv, T v) { return gv / v; }); break;
    case UnaryOp::Log1p: gx([](T gv, T v) { return gv / (T(1) + v); }); break;
    case UnaryOp::Sqrt: gy([](T gv, T yv) { return gv / (T(2) * yv); }); break;
    case UnaryOp::Rsqrt: gy([](T gv, T yv) { return T(-0.5) * gv * yv * yv * yv; }); break;
    case UnaryOp::Sin: gx([](T gv, T v) { return gv * std::cos(v); }); break;
    case UnaryOp::Cos: gx([](T gv, T v) { return -gv * std::sin(v); }); break;
    case UnaryOp::Tanh: gy([](T gv, T yv) { return gv * (T(1) - yv * yv); }); break;
    case UnaryOp::Sigmoid: gy([](T gv, T yv) { return gv * yv * (T(1) - yv); }); break;
    case UnaryOp::Relu: gx([](T gv, T v) { return v > T(0) ? gv : T(0); }); break;
    case UnaryOp::Gelu:
      gx([](T gv, T v) {
        T cdf = T(0.5) * (T(1) + erf_(v * T(kSqrt1_2)));
        T pdf = T(kInvSqrt2Pi) * exp_(T(-0.5) * v * v);
        return gv * (cdf + v * pdf);
      });
      break;
    case UnaryOp::GeluTanh:
      gx([](T gv, T v) {
        T inner = T(kSqrt2OverPi) * (v + T(0.044715) * v * v * v);
        T t = tanh_(inner);
        T dinner = T(kSqrt2OverPi) * (T(1) + T(3 * 0.044715) * v * v);
        return gv * (T(0.5) * (T(1) + t) + T(0.5) * v * (T(1) - t * t) * dinner);
      });
      break;
    case UnaryOp::Silu:
      gx([](T gv, T v) {
        T s = sigmoid(v);
        return gv * s * (T(1) + v * (T(1) - s));
      });
      break;
    case UnaryOp::Clamp: {
      const double lo = prm[0], hi = prm[1];
      const bool has_lo = !std::isnan(lo), has_hi = !std::isnan(hi);
      const T tlo = T(lo), thi = T(hi);
      gx([=](T gv, T v) { return ((has_lo && v < tlo) || (has_hi && v > thi)) ? T(0) : gv; });
      break;
    }
    case UnaryOp::PowScalar: {
      const T e = T(prm[0]);
      if (e == T(0)) map1<M, M>(dx, g, [](T) { return T(0); });
      else gx([=](T gv, T v) { return gv * e * std::pow(v, e - T(1)); });
      break;
    }
    case UnaryOp::LeakyRelu: {
      const T slope = T(prm[0]);
      gx([=](T gv, T v) { return v > T(0) ? gv : gv * slope; });
      break;
    }
    case UnaryOp::Expm1: gy([](T gv, T yv) { return gv * (yv + T(1)); }); break;
    case UnaryOp::Square: gx([](T gv, T v) { return T(2) * gv * v; }); break;
    case UnaryOp::Reciprocal: gy([](T gv, T yv) { return -gv * yv * yv; }); break;
    case UnaryOp::Sign:
    case UnaryOp::Floor:
    case UnaryOp::Ceil:
    case UnaryOp::Round: map1<M, M>(dx, g, [](T) { return T(0); }); break;
    default: break;
  }
}

void unary_backward(UnaryOp op, const TensorView& dx, const TensorView& g, const TensorView& x, const TensorView& y,
                    const double* params) {
  TF_DISPATCH_FLOAT_STORED(dx.dtype, M, unary_backward_t<M>(op, dx, g, x, y, params));
}

// ---- binary --------------------------------------------------------------------------------------

template <class T> inline T max_nan(T a, T b) { return isnan_(a) ? a : (isnan_(b) ? b : (a > b ? a : b)); }
template <class T> inline T min_nan(T a, T b) { return isnan_(a) ? a : (isnan_(b) ? b : (a < b ? a : b)); }

// Integer ops defined for every input: wrap-around, x / 0 == 0 and x % 0 == 0 (no SIGFPE).
template <class T> inline T int_div(T a, T b) {
  if (b == T(0)) return T(0);
  if (std::is_signed<T>::value && b == T(-1)) return T(0) - a;
  return T(a / b);
}
template <class T> inline T int_rem(T a, T b) {  // Python-style: the sign of the divisor
  if (b == T(0) || (std::is_signed<T>::value && b == T(-1))) return T(0);
  T r = T(a % b);
  if (r != T(0) && ((r < T(0)) != (b < T(0)))) r = T(r + b);
  return r;
}
template <class T> inline T int_pow(T a, T b) {
  if (b < T(0)) return (a == T(1)) ? T(1) : (a == T(-1) ? ((b & 1) ? T(-1) : T(1)) : T(0));
  using U = typename std::make_unsigned<T>::type;
  U result = 1, base = U(a);
  for (U e = U(b); e; e >>= 1) {
    if (e & 1) result *= base;
    base *= base;
  }
  return T(result);
}

template <class M>
void binary_t(BinaryOp op, const TensorView& out, const TensorView& a, const TensorView& b) {
  using T = Arith<M>;
  constexpr bool kFloat = std::is_floating_point<T>::value;
  using W = typename Wrap<T>::type;
  switch (op) {
    case BinaryOp::Add: map2<M, M, M>(out, a, b, [](T x, T y) { return T(W(x) + W(y)); }); break;
    case BinaryOp::Sub: map2<M, M, M>(out, a, b, [](T x, T y) { return T(W(x) - W(y)); }); break;
    case BinaryOp::Mul: map2<M, M, M>(out, a, b, [](T x, T y) { return T(W(x) * W(y)); }); break;
    case BinaryOp::Div:
      if constexpr (kFloat) map2<M, M, M>(out, a, b, [](T x, T y) { return x / y; });
      else map2<M, M, M>(out, a, b, [](T x, T y) { return int_div(x, y); });
      break;
    case BinaryOp::Pow:
      if constexpr (kFloat) map2<M, M, M>(out, a, b, [](T x, T y) { return std::pow(x, y); });
      else map2<M, M, M>(out, a, b, [](T x, T y) { return int_pow(x, y); });
      break;
    case BinaryOp::Remainder:
      if constexpr (kFloat)
        map2<M, M, M>(out, a, b, [](T x, T y) {
          T r = std::fmod(x, y);
          if (r != T(0) && ((r < T(0)) != (y < T(0)))) r += y;
          return r;
        });
      else map2<M, M, M>(out, a, b, [](T x, T y) { return int_rem(x, y); });
      break;
    case BinaryOp::Atan2:
      map2<M, M, M>(out, a, b, [](T x, T y) { return T(std::atan2(double(x), double(y))); });
      break;
    case BinaryOp::Maximum: map2<M, M, M>(out, a, b, [](T x, T y) { return max_nan(x, y); }); break;
    case BinaryOp::Minimum: map2<M, M, M>(out, a, b, [](T x, T y) { return min_nan(x, y); }); break;
    case BinaryOp::Eq: map2<uint8_t, M, M>(out, a, b, [](T x, T y) { return uint8_t(x == y); }); break;
    case BinaryOp::Ne: map2<uint8_t, M, M>(out, a, b, [](T x, T y) { return uint8_t(x != y); }); break;
    case BinaryOp::Lt: map2<uint8_t, M, M>(out, a, b, [](T x, T y) { return uint8_t(x < y); }); break;
    case BinaryOp::Le: map2<uint8_t, M, M>(out, a, b, [](T x, T y) { return uint8_t(x <= y); }); break;
    case BinaryOp::Gt: map2<uint8_t, M, M>(out, a, b, [](T x, T y) { return uint8_t(x > y); }); break;
    case BinaryOp::Ge: map2<uint8_t, M, M>(out, a, b, [](T x, T y) { return uint8_t(x >= y); }); break;
    case BinaryOp::LogicalAnd:
      map2<uint8_t, M, M>(out, a, b, [](T x, T y) { return uint8_t(x != T(0) && y != T(0)); });
      break;
    case BinaryOp::LogicalOr:
      map2<uint8_t, M, M>(out, a, b, [](T x, T y) { return uint8_t(x != T(0) || y != T(0)); });
      break;
    default: break;
  }
}

void binary(BinaryOp op, const TensorView& out, const TensorView& a, const TensorView& b) {
  TF_DISPATCH_STORED(a.dtype, M, binary_t<M>(op, out, a, b));
}

void where(const TensorView& out, const TensorView& cond, const TensorView& a, const TensorView& b) {
  TF_DISPATCH_STORED(out.dtype, M, {
    using T = Arith<M>;
    map3<M, uint8_t, M, M>(out, cond, a, b, [](uint8_t c, T x, T y) { return c ? x : y; });
  });
}

// ---- copy / fill -----------------------------------------------------------------------------------

template <class TO, class TI> inline TO convert(TI v) {
  if constexpr (std::is_same<TO, uint8_t>::value) {
    return uint8_t(v != TI(0));
  } else if constexpr (std::is_same<TO, int32_t>::value && std::is_floating_point<TI>::value) {
    // Out-of-range and NaN conversions are undefined in C++; give what x86 gives (INT_MIN).
    return (v >= TI(-2147483648.0) && v < TI(2147483648.0)) ? int32_t(v) : std::numeric_limits<int32_t>::min();
  } else {
    return TO(v);
  }
}

// Between storage types through their arithmetic types: a float16 source widens to float first, a
// float16 destination narrows from float (so double -> float16 rounds twice, as in PyTorch).
template <class TO>
void copy_to(const TensorView& out, const TensorView& x) {
  TF_DISPATCH_STORED(x.dtype, TI,
                     map1<TO, TI>(out, x, [](Arith<TI> v) { return convert<Arith<TO>, Arith<TI>>(v); }));
}

void copy(const TensorView& out, const TensorView& x) {
  TF_DISPATCH_STORED(out.dtype, TO, copy_to<TO>(out, x));
}

template <class T>
void fill_t(const TensorView& out, double value) {
  const T v = narrow<T>(convert<Arith<T>, double>(value));
  const TensorView* views[1] = {&out};
  StridedIter<1> it(views);
  it.for_each_run([&](char* const* p, const int64_t* s, int64_t n) {
    if (s[0] == (int64_t)sizeof(T)) {
      T* o = reinterpret_cast<T*>(p[0]);
      for (int64_t i = 0; i < n; ++i) o[i] = v;
    } else {
      for (int64_t i = 0; i < n; ++i) *reinterpret_cast<T*>(p[0] + i * s[0]) = v;
    }
  });
}

void fill(const TensorView& out, double value) { TF_DISPATCH_STORED(out.dtype, T, fill_t<T>(out, value)); }

TF_KERNEL_NAMESPACE_END
