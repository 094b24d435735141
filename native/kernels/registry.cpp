// Fills the kernel table of this CPU level (one copy per level; see CMakeLists.txt).
#include "common.h"

TF_KERNEL_NAMESPACE_BEGIN

void register_elementwise(KernelTable& t);
void register_reduce(KernelTable& t);
void register_softmax(KernelTable& t);
void register_gemm(KernelTable& t);
void register_indexing(KernelTable& t);
void register_random(KernelTable& t);

void register_all(KernelTable& t) {
  register_elementwise(t);
  register_reduce(t);
  register_softmax(t);
  register_gemm(t);
  register_indexing(t);
  register_random(t);
}

TF_KERNEL_NAMESPACE_END
