// dtype dispatch for kernels, shared by the CPU kernels (native/kernels) and the CUDA ones (cuda/kernels):
// runs the statement with T the C++ type of `dtype` (float, double, int32_t, or uint8_t for bool).
// TF_DISPATCH_STORED adds the 16-bit float storage types (half.h) for the kernels that widen on load.
#pragma once
#include <cstdint>

#include "../tensor_view.h"
#include "half.h"

#define TF_DISPATCH_ALL(dtype, T, ...)                        \
  switch (dtype) {                                            \
    case ::tf::kFloat32: { using T = float; __VA_ARGS__; break; }   \
    case ::tf::kFloat64: { using T = double; __VA_ARGS__; break; }  \
    case ::tf::kInt32: { using T = int32_t; __VA_ARGS__; break; }   \
    case ::tf::kBool: { using T = uint8_t; __VA_ARGS__; break; }    \
    default: break;                                           \
  }
#define TF_DISPATCH_FLOAT(dtype, T, ...)                      \
  switch (dtype) {                                            \
    case ::tf::kFloat32: { using T = float; __VA_ARGS__; break; }   \
    case ::tf::kFloat64: { using T = double; __VA_ARGS__; break; }  \
    default: break;                                           \
  }
#define TF_DISPATCH_STORED(dtype, T, ...)                           \
  switch (dtype) {                                                  \
    case ::tf::kFloat16: { using T = ::tf::float16_t; __VA_ARGS__; break; }   \
    case ::tf::kBFloat16: { using T = ::tf::bfloat16_t; __VA_ARGS__; break; } \
    default: TF_DISPATCH_ALL(dtype, T, __VA_ARGS__); break;         \
  }
#define TF_DISPATCH_FLOAT_STORED(dtype, T, ...)                     \
  switch (dtype) {                                                  \
    case ::tf::kFloat16: { using T = ::tf::float16_t; __VA_ARGS__; break; }   \
    case ::tf::kBFloat16: { using T = ::tf::bfloat16_t; __VA_ARGS__; break; } \
    default: TF_DISPATCH_FLOAT(dtype, T, __VA_ARGS__); break;       \
  }
