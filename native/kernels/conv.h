// im2col / col2im for convolution (conv.cpp); contract as in ../kernels.h.
#pragma once
#include "../spatial_geom.h"
#include "common.h"

TF_KERNEL_NAMESPACE_BEGIN
void im2col(const TensorView& cols, const TensorView& x, const SpatialGeom& g);
void col2im(const TensorView& dx, const TensorView& cols, const SpatialGeom& g);
// conv.cpp: db[c] = sum of gOut [N, C, D, H, W] (any strides) over everything but its channel dim.
void conv_bias_grad(const TensorView& db, const TensorView& gout);
// conv_direct.cpp
void conv_direct(const TensorView& out, const TensorView& x, const TensorView& w, const TensorView* bias,
                 const SpatialGeom& g, int64_t groups, bool adjoint, Activation act);
void conv_direct_weight_grad(const TensorView& dw, const TensorView& x, const TensorView& gout, const SpatialGeom& g,
                             int64_t groups);
// conv_direct_oc.cpp: the same with vector lanes over output channels, for one group, whole vectors
// of output channels, stride 1 and no dilation; false (nothing done) for other layers.
bool conv_direct_oc(const TensorView& out, const TensorView& x, const TensorView& w, const TensorView* bias,
                    const SpatialGeom& g, int64_t groups, Activation act);
bool conv_direct_oc_weight_grad(const TensorView& dw, const TensorView& x, const TensorView& gout, const SpatialGeom& g,
                                int64_t groups);
// conv_direct_oc_dx.cpp: the input gradient of such a layer whose output channels fill whole
// vectors (any input channels), given the adjoint's geometry; false (nothing done) for other layers.
bool conv_direct_oc_input_grad(const TensorView& dx, const TensorView& gout, const TensorView& w,
                               const SpatialGeom& g);
// conv_depthwise.cpp: dx, dw and db (each optional) from gOut, x and w in one pass where it can; see kernels.h.
void conv_depthwise_backward(const TensorView* dx, const TensorView* dw, const TensorView* db, const TensorView& gout,
                             const TensorView& x, const TensorView& w, const SpatialGeom& g);
// conv_depthwise.cpp: mode 0 writes y (out), 1 writes x (dx, from y = gOut), 2 writes w (dW); see kernels.h.
void conv_depthwise(int mode, const TensorView& y, const TensorView& x, const TensorView& w, const TensorView* bias,
                    const SpatialGeom& g, Activation act);
// conv_tiled.cpp: im2col + GEMM a tile of output rows at a time, any geometry and groups; modes and
// operands as kernels.h's conv_implicit (y contiguous in every mode).
void conv_implicit(int mode, const TensorView& y, const TensorView& x, const TensorView& w, const TensorView* bias,
                   const SpatialGeom& g, int64_t groups, Activation act);
TF_KERNEL_NAMESPACE_END
