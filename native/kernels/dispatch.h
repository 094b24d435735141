// dtype dispatch for kernels, shared by the CPU kernels (native/kernels) and the CUDA ones (cuda/kernels):
// runs the statement with T the C++ type of `dtype` (float, double, int32_t, or uint8_t for bool).
#pragma once
#include <cstdint>

#include "../tensor_view.h"

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
