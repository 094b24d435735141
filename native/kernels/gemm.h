// Batched GEMM (gemm.cpp); contract as in ../kernels.h.
#pragma once
#include "common.h"

TF_KERNEL_NAMESPACE_BEGIN
void gemm(const TensorView& c, const TensorView& a, const TensorView& b, double alpha, double beta);
void gemm_epilogue(const TensorView& c, const TensorView& a, const TensorView& b, double alpha, double beta,
                   const GemmEpilogue& ep);
TF_KERNEL_NAMESPACE_END
