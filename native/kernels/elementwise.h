// Elementwise kernels (elementwise.cpp); signatures and contracts as in ../kernels.h.
#pragma once
#include "common.h"

TF_KERNEL_NAMESPACE_BEGIN
void unary(UnaryOp op, const TensorView& out, const TensorView& x, const double* params);
void unary_backward(UnaryOp op, const TensorView& dx, const TensorView& g, const TensorView& x, const TensorView& y,
                    const double* params);
void binary(BinaryOp op, const TensorView& out, const TensorView& a, const TensorView& b);
void where(const TensorView& out, const TensorView& cond, const TensorView& a, const TensorView& b);
void copy(const TensorView& out, const TensorView& x);
void fill(const TensorView& out, double value);
TF_KERNEL_NAMESPACE_END
