// Fused scaled-dot-product attention, forward and backward (attention.cpp); operands in
// ../attention_params.h.
#pragma once
#include "../attention_params.h"
#include "common.h"

TF_KERNEL_NAMESPACE_BEGIN
void attention_forward(const AttentionForwardArgs& a);
void attention_backward(const AttentionBackwardArgs& a);
TF_KERNEL_NAMESPACE_END
