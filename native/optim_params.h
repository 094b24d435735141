// Hyperparameters of the fused optimizer updates (kernels/optim.cpp). Plain structs, like
// TensorView, so they cross from the binding into the per-CPU-level kernel copies. lib/optim/
// computes the per-step scalars (bias corrections, decayed learning rates) in float64.
#pragma once

namespace tf {

struct SgdParams {
  double lr, momentum, dampening, weight_decay;
  bool nesterov, maximize;
  bool init_buf;  // first step with momentum: the buffer is set to the gradient, not decayed
};

struct AdamParams {
  double beta1, beta2, eps, weight_decay;
  double step_size;              // lr / (1 - beta1^step)
  double bias_correction2_sqrt;  // sqrt(1 - beta2^step)
  double decay;                  // AdamW: p *= decay (1 - lr * weight_decay) before the update
  bool amsgrad, decoupled, maximize;
};

struct RmspropParams {
  double lr, alpha, eps, weight_decay, momentum;
  bool centered, maximize;
};

struct AdagradParams {
  double clr;  // lr / (1 + (step - 1) * lr_decay)
  double eps, weight_decay;
  bool maximize;
};

}  // namespace tf
