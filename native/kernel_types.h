// Types shared by the kernels and the binding: the op enums (their values are shared with
// lib/native.ts) and TensorView. Kernel files include this, not kernels.h, so adding a kernel to the
// table recompiles only the table's users.
#pragma once
#include <cstdint>
#include "tensor_view.h"

namespace tf {

// Elementwise ops on one tensor. Enum values are shared with lib/native.ts (UnaryOp).
enum class UnaryOp : int32_t {
  Neg, Abs, Exp, Log, Log1p, Sqrt, Rsqrt, Sin, Cos, Tanh, Sigmoid, Relu, Gelu, GeluTanh, Silu,
  Clamp,      // params: lo, hi (NaN means unbounded on that side)
  PowScalar,  // params: exponent
  LeakyRelu,  // params: negative slope
  Sign, Expm1, Square, Reciprocal, Floor, Ceil, Round, LogicalNot,
  Count
};

// Elementwise ops on two tensors; comparison ops write bool. Shared with lib/native.ts (BinaryOp).
enum class BinaryOp : int32_t {
  Add, Sub, Mul, Div, Pow, Maximum, Minimum, Eq, Ne, Lt, Le, Gt, Ge, LogicalAnd, LogicalOr, Remainder,
  Atan2, Count
};

// Reductions over the trailing `nreduce` dims of the input. Shared with lib/native.ts (ReduceOp).
enum class ReduceOp : int32_t { Sum, Mean, Max, Min, Prod, ArgMax, ArgMin, Var, LogSumExp, Any, All, Count };

}  // namespace tf
