// The CUDA addons' kernel table: what native/binding.cpp calls through kernels(). Entries a device
// lacks stay null, and the binding then does not export that entry point (lib/ turns the gap into
// an Error that names the op and the device).
#include <cstring>

#include "../native/kernels.h"
#include "kernels/kernels.cuh"

namespace tf {
namespace {

KernelTable make_table() {
  KernelTable t{};
#ifdef TF_CUDA_EMULATE
  t.level = "cuda-emulated";
#else
  t.level = "cuda";
#endif
  cuda::register_elementwise(t);
  cuda::register_reduce(t);
  cuda::register_softmax(t);
  cuda::register_gemm(t);
  cuda::register_loss(t);
  cuda::register_optim(t);
  cuda::register_random(t);
  cuda::register_indexing(t);
  cuda::register_spatial(t);
  cuda::register_norm(t);
  cuda::register_attention(t);
  cuda::register_rnn(t);
  cuda::register_conv_depthwise(t);
  cuda::register_conv_implicit(t);
  return t;
}

}  // namespace

const KernelTable& kernels() {
  static const KernelTable table = make_table();
  return table;
}
bool select_kernel_level(const char* name) { return std::strcmp(name, kernels().level) == 0; }
int available_kernel_levels(const char** names, int max) {
  if (max < 1) return 0;
  names[0] = kernels().level;
  return 1;
}

}  // namespace tf
