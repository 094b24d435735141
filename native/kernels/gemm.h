// Batched GEMM (gemm.cpp); contract as in ../kernels.h.
#pragma once
#include "common.h"

TF_KERNEL_NAMESPACE_BEGIN
void gemm(const TensorView& c, const TensorView& a, const TensorView& b, double alpha, double beta);
void gemm_epilogue(const TensorView& c, const TensorView& a, const TensorView& b, double alpha, double beta,
                   const GemmEpilogue& ep);
// The float/double packed kernels' register tile: request -1 reads the pin, 0 unpins (each product
// takes the shape that pads it least), 1 pins the first shape, 2 the second (AVX-512 only); returns
// the pin now in effect, or -1 (nothing changed) for a shape this level lacks.
int gemm_tile(int request);
// Whether the float/double GEMM may take its unpacked path for products with a small B
// (Gemm::run_small): request -1 reads it, 0 forbids it (every product packed: for tests), 1 allows
// it; returns the setting now in effect.
int gemm_unpacked(int request);
// The bfloat16 product's kernel (gemm_bf16.h Bf16Kernel: 0 auto, 1 widen, 2 dot, 3 amx): request
// -1 reads the one in use; 0-3 pins it (0 unpins) and returns the one now in use, or -1 (nothing
// changed) when it does not run here. bf16_gemm_has(k): whether k runs here.
int bf16_gemm_kernel(int request);
int bf16_gemm_has(int kernel);
TF_KERNEL_NAMESPACE_END
