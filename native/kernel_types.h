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

// Activations a GEMM epilogue can apply (values shared with lib/ops/linear.ts).
enum class Activation : int32_t { None, Relu, Gelu, GeluTanh, Silu, Count };

// What a GEMM applies to each element of C after the product: C = act(alpha * A @ B + beta * C + bias),
// bias[i, j] at bias + i * bias_sm + j * bias_sn (one of the strides is 0: a bias per column, as a
// linear layer's, or per row, as a convolution's output channel); bias null means none.
struct GemmEpilogue {
  const void* bias;
  int64_t bias_sm, bias_sn;
  Activation act;
};

// Reductions over the trailing `nreduce` dims of the input. Shared with lib/native.ts (ReduceOp).
enum class ReduceOp : int32_t { Sum, Mean, Max, Min, Prod, ArgMax, ArgMin, Var, LogSumExp, Any, All, Count };

}  // namespace tf
