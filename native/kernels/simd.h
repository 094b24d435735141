// What kernels that write their own vector loops share: the vector width of the CPU level this copy
// is compiled for (GCC vector extensions: 64 bytes on AVX-512, 32 on AVX2, 16 otherwise) and a
// per-thread scratch buffer kept between calls (no std containers in kernel files: their
// out-of-line instantiations would be shared across CPU levels).
#pragma once
#include <cstdlib>
#include <type_traits>
#include <utility>

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

// The first n lanes of src (0 <= n <= the lanes), zeros in the rest: a masked load where the CPU
// level has one (it reads nothing past src + n, so it may end at a page's edge).
template <class T>
inline typename Vec<T>::type load_first(const T* src, int n) {
  typedef typename Vec<T>::type V;
  constexpr int W = kVecBytes / sizeof(T);
  V v = V{};
  if (n >= W) {
    __builtin_memcpy(&v, src, sizeof(V));
    return v;
  }
#if defined(TF_CPU_LEVEL_avx512)
  if constexpr (sizeof(T) == 4) {
    typedef __attribute__((vector_size(64))) float F;
    const F r = __builtin_ia32_loadups512_mask(reinterpret_cast<const float*>(src), F{}, static_cast<unsigned short>((1u << n) - 1));
    __builtin_memcpy(&v, &r, sizeof(V));
    return v;
  } else if constexpr (sizeof(T) == 8) {
    typedef __attribute__((vector_size(64))) double D;
    const D r = __builtin_ia32_loadupd512_mask(reinterpret_cast<const double*>(src), D{}, static_cast<unsigned char>((1u << n) - 1));
    __builtin_memcpy(&v, &r, sizeof(V));
    return v;
  }
#endif
  for (int l = 0; l < n; ++l) v[l] = src[l];
  return v;
}

// v + v rotated by H lanes, then the same with H / 2, ... down to 1: lane 0 ends up holding the sum
// of lanes 0 .. 2H - 1 (all W at H = W / 2: log2(W) shuffles and adds, where a lane-by-lane loop
// took W - 1 dependent adds), as every lane does of the 2H lanes from it.
template <class V, int W, int H, size_t... L>
inline V add_rotated(V v, std::index_sequence<L...>) {
  return v + __builtin_shufflevector(v, v, int((L + H) % W)...);
}
template <class T, int H>
inline typename Vec<T>::type fold_lanes(typename Vec<T>::type v) {
  constexpr int W = kVecBytes / int(sizeof(T));
  if constexpr (H >= 1)
    return fold_lanes<T, H / 2>(add_rotated<typename Vec<T>::type, W, H>(v, std::make_index_sequence<W>{}));
  else
    return v;
}

// dst[0, n) = src[0, n) and dst[0, n) = 0, a vector at a time: rows of a few dozen elements, where
// a call to memcpy or memset costs as much as the copy (in_register keeps GCC from turning the
// loops into those calls).
template <class T>
inline void copy_run(T* __restrict dst, const T* __restrict src, int64_t n) {
  typedef typename Vec<T>::type V;
  constexpr int W = kVecBytes / sizeof(T);
  int64_t i = 0;
  for (; i + W <= n; i += W) {
    V v;
    __builtin_memcpy(&v, src + i, sizeof(V));
    in_register(v);
    __builtin_memcpy(dst + i, &v, sizeof(V));
  }
  if (i < n) store_first(dst + i, load_first(src + i, int(n - i)), int(n - i));
}

template <class T>
inline void zero_run(T* dst, int64_t n) {
  typedef typename Vec<T>::type V;
  constexpr int W = kVecBytes / sizeof(T);
  int64_t i = 0;
  for (; i + W <= n; i += W) {
    V z = V{};
    in_register(z);
    __builtin_memcpy(dst + i, &z, sizeof(V));
  }
  if (i < n) store_first(dst + i, V{}, int(n - i));
}

// sum_i p[i] for i < n (contiguous): vector partial sums, then the lanes, then the tail. A float
// sum does not vectorise without reassociation, which -ffast-math is not allowed to grant here.
template <class T>
inline T sum_run(const T* p, int64_t n) {
  typedef typename Vec<T>::type V;
  constexpr int W = kVecBytes / sizeof(T);
  V acc = V{};
  int64_t i = 0;
  for (; i + W <= n; i += W) {
    V v;
    __builtin_memcpy(&v, p + i, sizeof(V));
    acc += v;
  }
  T s = 0;
  for (int l = 0; l < W; ++l) s += acc[l];
  for (; i < n; ++i) s += p[i];
  return s;
}

// r[0..W) (W vectors of W lanes: a W x W block, row i in r[i]) transposed in registers. Stage h
// (W/2, ..., 1) swaps, within every 2h x 2h block, the upper-right h x h block with the lower-left:
// rows i and i + h (bit h of i clear) trade halves of each 2h-lane group, by 2-source shuffles
// with compile-time masks (64 for 16 floats, against 256 scalar loads and stores; masks built at
// run time cost more than the scalar copy).
template <int W, int H>
constexpr int swap_upper(int c) {  // lane c of row i: from row i (lanes < W) or row i + H (W + k)
  return c % (2 * H) < H ? c : W + c - H;
}
template <int W, int H>
constexpr int swap_lower(int c) {  // lane c of row i + H
  return c % (2 * H) < H ? c + H : W + c;
}
template <class V, int W, int H, size_t... L>
inline void transpose_stage(V* r, std::index_sequence<L...>) {
  for (int i = 0; i < W; ++i) {
    if (i & H) continue;
    const V a = r[i], b = r[i + H];
    r[i] = __builtin_shufflevector(a, b, swap_upper<W, H>(int(L))...);
    r[i + H] = __builtin_shufflevector(a, b, swap_lower<W, H>(int(L))...);
  }
}
template <class V, int W, int H>
inline void transpose_stages(V* r) {
  if constexpr (H >= 1) {
    transpose_stage<V, W, H>(r, std::make_index_sequence<W>{});
    transpose_stages<V, W, H / 2>(r);
  }
}
template <class T>
inline void transpose_square(typename Vec<T>::type* r) {
  constexpr int W = kVecBytes / int(sizeof(T));
  transpose_stages<typename Vec<T>::type, W, W / 2>(r);
}

// out[p] = the sum of r[p]'s lanes for P vectors (P a power of two), P lanes summed at once: stage
// h (W/2, W/4, ...) pairs r[p] with r[p + n/2] and leaves, in every 2h-lane group, r[p]'s two
// h-lane halves added in its lower h lanes and r[p + n/2]'s in its upper h, halving the vectors;
// after log2(P) stages (fewer when P > W: W vectors at a time) one vector holds P groups of W / P
// lanes, group g the partial sums of r[g], which add_rotated folds to its first lane. (P = 16 of 16
// lanes: 15 pairs of shuffles and an add, against 64 shuffles and adds lane-summing one by one.)
template <class V, int W, int H, size_t... L>
inline V add_halves(V a, V b, std::index_sequence<L...>) {
  return __builtin_shufflevector(a, b, swap_upper<W, H>(int(L))...) +
         __builtin_shufflevector(a, b, swap_lower<W, H>(int(L))...);
}
template <class T, int P>
inline void sum_lanes_each(typename Vec<T>::type* r, T* out) {
  typedef typename Vec<T>::type V;
  constexpr int W = kVecBytes / int(sizeof(T));
  static_assert(P >= 1 && (P & (P - 1)) == 0, "P must be a power of two");
  if constexpr (P > W) {
    for (int p = 0; p < P; p += W) sum_lanes_each<T, W>(r + p, out + p);
  } else {
    // Stage h pairs the n live vectors' first and second halves: n = P at h = W/2, n/2 at W/4, ...
    auto stage = [&](auto hc, int n) {
      constexpr int H = decltype(hc)::value;
      for (int p = 0; p < n / 2; ++p) r[p] = add_halves<V, W, H>(r[p], r[p + n / 2], std::make_index_sequence<W>{});
    };
    if constexpr (P >= 2) stage(std::integral_constant<int, W / 2>{}, P);
    if constexpr (P >= 4) stage(std::integral_constant<int, W / 4>{}, P / 2);
    if constexpr (P >= 8) stage(std::integral_constant<int, W / 8>{}, P / 4);
    if constexpr (P >= 16) stage(std::integral_constant<int, W / 16>{}, P / 8);
    static_assert(P <= 16, "at most 16 vectors at a time");
    const V v = fold_lanes<T, W / P / 2>(r[0]);
    for (int g = 0; g < P; ++g) out[g] = v[g * (W / P)];
  }
}

// dst(p)[l] = src[l * cs + p] for channels l < lanes (at most W) and positions p < n (positions
// contiguous in src): gathers the channels of each position into one vector (a channels-last copy),
// W positions at a time through transpose_square, the rest one by one. With fewer lanes than W the
// missing channels are zeros in the transpose and only `lanes` values are stored per position.
template <class T, class Dst>
inline void channels_last(const T* src, int64_t cs, int64_t n, Dst dst, int lanes = kVecBytes / int(sizeof(T))) {
  typedef typename Vec<T>::type V;
  constexpr int W = kVecBytes / int(sizeof(T));
  int64_t p = 0;
  for (; p + W <= n; p += W) {
    V r[W];
    for (int l = 0; l < W; ++l) {
      if (l < lanes) __builtin_memcpy(&r[l], src + l * cs + p, sizeof(V));
      else r[l] = V{};
    }
    transpose_square<T>(r);
    for (int j = 0; j < W; ++j) store_first<T>(dst(p + j), r[j], lanes);
  }
  for (; p < n; ++p) {
    T* d = dst(p);
    for (int l = 0; l < lanes; ++l) d[l] = src[l * cs + p];
  }
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
