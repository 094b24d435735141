// A number operand (x + 2) reaches the kernels as a broadcast view of a per-call host slot (see
// scalar_view in binding.cpp), so a scalar op allocates nothing. A device kernel cannot read host
// memory: its launcher asks for the value instead and passes it by value.
#pragma once
#include "tensor_view.h"

namespace tf {

// True (with the value) when v is such a scalar operand.
bool scalar_operand_value(const TensorView& v, double* value);

}  // namespace tf
