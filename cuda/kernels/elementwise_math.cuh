// Per-element math of the elementwise kernels (elementwise.cu), for every dtype the op accepts.
// Each function mirrors the lambda of the same op in native/kernels/elementwise.cpp; the CPU/CUDA
// comparison tests hold the two together.
#pragma once
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "../../native/kernel_types.h"
#include "../compat.h"

namespace tf {
namespace cuda {

template <class T> TF_HD bool is_nan(T v) { return v != v; }
template <class T> TF_HD T sigmoid_of(T v) { return T(1) / (T(1) + std::exp(-v)); }

template <class T>
TF_HD T unary_value(UnaryOp op, T v, double p0, double p1) {
  if constexpr (std::is_floating_point<T>::value) {
    constexpr T kSqrt1_2 = T(0.70710678118654752440), kSqrt2OverPi = T(0.79788456080286535588);
    switch (op) {
      case UnaryOp::Neg: return -v;
      case UnaryOp::Abs: return std::fabs(v);
      case UnaryOp::Exp: return std::exp(v);
      case UnaryOp::Log: return std::log(v);
      case UnaryOp::Log1p: return std::log1p(v);
      case UnaryOp::Sqrt: return std::sqrt(v);
      case UnaryOp::Rsqrt: return T(1) / std::sqrt(v);
      case UnaryOp::Sin: return std::sin(v);
      case UnaryOp::Cos: return std::cos(v);
      case UnaryOp::Tanh: return std::tanh(v);
      case UnaryOp::Sigmoid: return sigmoid_of(v);
      case UnaryOp::Relu: return v > T(0) || is_nan(v) ? v : T(0);
      case UnaryOp::Gelu: return T(0.5) * v * (T(1) + std::erf(v * kSqrt1_2));
      case UnaryOp::GeluTanh: return T(0.5) * v * (T(1) + std::tanh(kSqrt2OverPi * (v + T(0.044715) * v * v * v)));
      case UnaryOp::Silu: return v * sigmoid_of(v);
      case UnaryOp::Clamp:
        if (!is_nan(p0) && v < T(p0)) v = T(p0);
        if (!is_nan(p1) && v > T(p1)) v = T(p1);
        return v;
      case UnaryOp::PowScalar: {
        const T e = T(p0);
        if (e == T(2)) return v * v;
        if (e == T(1)) return v;
        if (e == T(0.5)) return std::sqrt(v);
        if (e == T(-1)) return T(1) / v;
        return std::pow(v, e);
      }
      case UnaryOp::LeakyRelu: return v > T(0) ? v : v * T(p0);
      case UnaryOp::Sign: return is_nan(v) ? v : T((v > T(0)) - (v < T(0)));
      case UnaryOp::Expm1: return std::expm1(v);
      case UnaryOp::Square: return v * v;
      case UnaryOp::Reciprocal: return T(1) / v;
      case UnaryOp::Floor: return std::floor(v);
      case UnaryOp::Ceil: return std::ceil(v);
      case UnaryOp::Round: return std::nearbyint(v);
      case UnaryOp::LogicalNot: return T(v == T(0));
      default: return v;
    }
  } else {
    using U = typename std::conditional<sizeof(T) == 4, uint32_t, uint8_t>::type;  // wrap-around arithmetic
    switch (op) {
      case UnaryOp::Neg: return T(U(0) - U(v));
      case UnaryOp::Abs: return v < T(0) ? T(U(0) - U(v)) : v;
      case UnaryOp::Relu: return v > T(0) ? v : T(0);
      case UnaryOp::Square: return T(U(v) * U(v));
      case UnaryOp::Sign: return T((v > T(0)) - (v < T(0)));
      case UnaryOp::Clamp: {
        double d = double(v);
        if (!is_nan(p0) && d < p0) d = std::ceil(p0);
        if (!is_nan(p1) && d > p1) d = std::floor(p1);
        return T(d);
      }
      case UnaryOp::LogicalNot: return T(v == T(0));
      default: return v;
    }
  }
}

// An epilogue's activation (kernel_types.h) of one value: the unary ops' own functions, so the
// GEMM's and the convolutions' fused results equal the unfused ops'.
template <class T>
TF_HD T activation_value(Activation act, T v) {
  switch (act) {
    case Activation::Relu: return unary_value<T>(UnaryOp::Relu, v, 0, 0);
    case Activation::Gelu: return unary_value<T>(UnaryOp::Gelu, v, 0, 0);
    case Activation::GeluTanh: return unary_value<T>(UnaryOp::GeluTanh, v, 0, 0);
    case Activation::Silu: return unary_value<T>(UnaryOp::Silu, v, 0, 0);
    default: return v;
  }
}

// dx for one element from g = dL/dy, the input x and the output y.
template <class T>
TF_HD T unary_derivative(UnaryOp op, T g, T x, T y, double p0, double p1) {
  constexpr T kSqrt1_2 = T(0.70710678118654752440), kInvSqrt2Pi = T(0.39894228040143267794),
              kSqrt2OverPi = T(0.79788456080286535588);
  switch (op) {
    case UnaryOp::Neg: return -g;
    case UnaryOp::Abs: return x > T(0) ? g : (x < T(0) ? -g : T(0));
    case UnaryOp::Exp: return g * y;
    case UnaryOp::Log: return g / x;
    case UnaryOp::Log1p: return g / (T(1) + x);
    case UnaryOp::Sqrt: return g / (T(2) * y);
    case UnaryOp::Rsqrt: return T(-0.5) * g * y * y * y;
    case UnaryOp::Sin: return g * std::cos(x);
    case UnaryOp::Cos: return -g * std::sin(x);
    case UnaryOp::Tanh: return g * (T(1) - y * y);
    case UnaryOp::Sigmoid: return g * y * (T(1) - y);
    case UnaryOp::Relu: return x > T(0) ? g : T(0);
    case UnaryOp::Gelu: {
      const T cdf = T(0.5) * (T(1) + std::erf(x * kSqrt1_2));
      const T pdf = kInvSqrt2Pi * std::exp(T(-0.5) * x * x);
      return g * (cdf + x * pdf);
    }
    case UnaryOp::GeluTanh: {
      const T inner = kSqrt2OverPi * (x + T(0.044715) * x * x * x);
      const T t = std::tanh(inner);
      const T dinner = kSqrt2OverPi * (T(1) + T(3 * 0.044715) * x * x);
      return g * (T(0.5) * (T(1) + t) + T(0.5) * x * (T(1) - t * t) * dinner);
    }
    case UnaryOp::Silu: {
      const T s = sigmoid_of(x);
      return g * s * (T(1) + x * (T(1) - s));
    }
    case UnaryOp::Clamp: return ((!is_nan(p0) && x < T(p0)) || (!is_nan(p1) && x > T(p1))) ? T(0) : g;
    case UnaryOp::PowScalar: {
      const T e = T(p0);
      return e == T(0) ? T(0) : g * e * std::pow(x, e - T(1));
    }
    case UnaryOp::LeakyRelu: return x > T(0) ? g : g * T(p0);
    case UnaryOp::Expm1: return g * (y + T(1));
    case UnaryOp::Square: return T(2) * g * x;
    case UnaryOp::Reciprocal: return -g * y * y;
    default: return T(0);  // Sign, Floor, Ceil, Round
  }
}

template <class T>
TF_HD T nan_maximum(T a, T b) {
  return is_nan(a) ? a : (is_nan(b) ? b : (a > b ? a : b));
}
template <class T>
TF_HD T nan_minimum(T a, T b) {
  return is_nan(a) ? a : (is_nan(b) ? b : (a < b ? a : b));
}

// Integer ops defined for every input: wrap-around, x / 0 == 0 and x % 0 == 0.
template <class T>
TF_HD T int_div(T a, T b) {
  if (b == T(0)) return T(0);
  if (std::is_signed<T>::value && b == T(-1)) return T(0) - a;
  return T(a / b);
}
template <class T>
TF_HD T int_rem(T a, T b) {  // Python-style: the sign of the divisor
  if (b == T(0) || (std::is_signed<T>::value && b == T(-1))) return T(0);
  T r = T(a % b);
  if (r != T(0) && ((r < T(0)) != (b < T(0)))) r = T(r + b);
  return r;
}
template <class T>
TF_HD T int_pow(T a, T b) {
  if (b < T(0)) return (a == T(1)) ? T(1) : (a == T(-1) ? ((b & 1) ? T(-1) : T(1)) : T(0));
  using U = typename std::make_unsigned<T>::type;
  U result = 1, base = U(a);
  for (U e = U(b); e; e >>= 1) {
    if (e & 1) result = U(result * base);
    base = U(base * base);
  }
  return T(result);
}

// The type in which T's arithmetic wraps around instead of overflowing (floats: T itself).
template <class T, bool = std::is_integral<T>::value> struct Wrap { using type = T; };
template <class T> struct Wrap<T, true> { using type = typename std::make_unsigned<T>::type; };

// a (op) b; comparisons return 0 or 1 (the caller stores them as bool).
template <class T>
TF_HD T binary_value(BinaryOp op, T x, T y) {
  constexpr bool kFloat = std::is_floating_point<T>::value;
  using W = typename Wrap<T>::type;
  switch (op) {
    case BinaryOp::Add: return T(W(x) + W(y));
    case BinaryOp::Sub: return T(W(x) - W(y));
    case BinaryOp::Mul: return T(W(x) * W(y));
    case BinaryOp::Div:
      if constexpr (kFloat) return x / y;
      else return int_div(x, y);
    case BinaryOp::Pow:
      if constexpr (kFloat) return std::pow(x, y);
      else return int_pow(x, y);
    case BinaryOp::Remainder:
      if constexpr (kFloat) {
        T r = std::fmod(x, y);
        if (r != T(0) && ((r < T(0)) != (y < T(0)))) r += y;
        return r;
      } else {
        return int_rem(x, y);
      }
    case BinaryOp::Atan2: return T(std::atan2(double(x), double(y)));
    case BinaryOp::Maximum: return nan_maximum(x, y);
    case BinaryOp::Minimum: return nan_minimum(x, y);
    case BinaryOp::Eq: return T(x == y);
    case BinaryOp::Ne: return T(x != y);
    case BinaryOp::Lt: return T(x < y);
    case BinaryOp::Le: return T(x <= y);
    case BinaryOp::Gt: return T(x > y);
    case BinaryOp::Ge: return T(x >= y);
    case BinaryOp::LogicalAnd: return T(x != T(0) && y != T(0));
    case BinaryOp::LogicalOr: return T(x != T(0) || y != T(0));
    default: return x;
  }
}

template <class TO, class TI>
TF_HD TO convert_value(TI v) {
  if constexpr (std::is_same<TO, uint8_t>::value) {
    return uint8_t(v != TI(0));
  } else if constexpr (std::is_same<TO, int32_t>::value && std::is_floating_point<TI>::value) {
    // Out-of-range and NaN give INT_MIN, as on the CPU backend (x86's answer).
    return (v >= TI(-2147483648.0) && v < TI(2147483648.0)) ? int32_t(v) : int32_t(-2147483647 - 1);
  } else {
    return TO(v);
  }
}

}  // namespace cuda
}  // namespace tf
