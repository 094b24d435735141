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

// dst[0, n) = the first n lanes of v (0 <= n <= the lanes): a masked store where the CPU level has
// one. (A copy through memory costs a failed store-to-load forward; a lane loop becomes a memcpy.)
template <class T>
inline void store_first(T* dst, typename Vec<T>::type v, int n) {
  constexpr int W = kVecBytes / sizeof(T);
  if (n >= W) {
    __builtin_memcpy(dst, &v, sizeof(v));
    return;
  }
#if defined(TF_CPU_LEVEL_avx512)
  if constexpr (sizeof(T) == 4) {
    __builtin_ia32_storeups512_mask(reinterpret_cast<float*>(dst), reinterpret_cast<__attribute__((vector_size(64))) float&>(v),
                                    static_cast<unsigned short>((1u << n) - 1));
    return;
  } else if constexpr (sizeof(T) == 8) {
    __builtin_ia32_storeupd512_mask(reinterpret_cast<double*>(dst), reinterpret_cast<__attribute__((vector_size(64))) double&>(v),
                                    static_cast<unsigned char>((1u << n) - 1));
    return;
  }
#endif
  for (int l = 0; l < n; ++l) dst[l] = v[l];
}

// Keeps v in a register: GCC otherwise may fold a load used several times into each use as a memory
// operand (a load per FMA where one serves). An empty asm on the register only, so unlike one that
// reads memory, it does not keep stores from moving.
template <class V>
inline void in_register(V& v) {
#if defined(__x86_64__)
  asm("" : "+v"(v));
#elif defined(__aarch64__)
  asm("" : "+w"(v));
#else
  (void)v;
#endif
}

// Images of N per chunk of the batch when each takes `bytes` of workspace: 8 MiB a chunk, at least
// one image (the direct convolutions pad or transpose a chunk at a time).
inline int64_t images_per_chunk(size_t bytes, int64_t N) {
  const int64_t n = int64_t((size_t(8) << 20) / (bytes > 0 ? bytes : 1));
  return n < 1 ? 1 : n > N ? N : n;
}

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
