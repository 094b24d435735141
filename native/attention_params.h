// Operands of the fused attention kernels (kernels/attention.cpp). Plain structs, like TensorView,
// so they cross from the binding into the per-CPU-level kernel copies.
#pragma once
#include "tensor_view.h"

namespace tf {

enum class AttnMaskKind : int32_t { None = 0, Bool = 1, Additive = 2 };

struct AttentionArgs {
  // q [B1, B2, L, E], k [B1, B2, S, E], v [B1, B2, S, Ev]: unit stride on the last dim, any other
  // strides (stride-0 batch dims broadcast). mask [B1, B2, L, S] (bool: true = may attend; or
  // additive, of q's dtype) when mask_kind is not None.
  TensorView q, k, v, mask;
  AttnMaskKind mask_kind;
  bool causal;  // query i attends to keys j <= i
  double scale;
};

struct AttentionForwardArgs {
  AttentionArgs in;
  TensorView out;  // [B1, B2, L, Ev], unit stride on the last dim, written through its strides
  TensorView lse;  // [B1, B2, L] contiguous: log-sum-exp of each row's scores (-inf when none attend)
};

struct AttentionBackwardArgs {
  AttentionArgs in;
  TensorView out, lse;   // the forward's results
  TensorView dout;       // [B1, B2, L, Ev], unit stride on the last dim
  TensorView dq, dk, dv; // the shapes of q, k, v, unit stride on the last dim (broadcast dims are summed by the caller)
};

}  // namespace tf
