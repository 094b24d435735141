// What kernels that write their own vector loops share: the vector width of the CPU level this copy
// is compiled for (GCC vector extensions: 64 bytes on AVX-512, 32 on AVX2, 16 otherwise) and a
// per-thread scratch buffer kept between calls (no std containers in kernel files: their
// out-of-line instantiations would be shared across CPU levels).
#pragma once
#include <cstdlib>

#include "common.h"

TF_KERNEL_NAMESPACE_BEGIN

#if defined(TF_CPU_LEVEL_avx512)
constexpr int kVecBytes = 64;
#elif defined(TF_CPU_LEVEL_avx2)
constexpr int kVecBytes = 32;
#else
constexpr int kVecBytes = 16;
#endif

template <class T> struct Vec { typedef T type __attribute__((vector_size(kVecBytes))); };

struct Scratch {
  void* p = nullptr;
  size_t cap = 0;
  ~Scratch() { std::free(p); }
  // A 64-byte aligned buffer of at least `bytes`, or null when out of memory.
  void* get(size_t bytes) {
    if (bytes > cap) {
      std::free(p);
      p = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
      cap = p ? bytes : 0;
    }
    return p;
  }
  void release() {
    std::free(p);
    p = nullptr;
    cap = 0;
  }
};

TF_KERNEL_NAMESPACE_END
