// A CPU stand-in for the parts of the CUDA runtime and device language our kernels use, so the same
// .cu sources compile with g++ and run in CI on machines without a GPU (cuda/compat.h includes this
// under TF_CUDA_EMULATE instead of <cuda_runtime.h>).
//
// Execution model (executor.cpp): each CUDA thread is a fiber with its own stack; the threads of one
// block run cooperatively on one OS thread, blocks are spread over the worker pool. A thread runs
// until it reaches __syncthreads() or a warp collective (__shfl*_sync, __ballot_sync, __syncwarp),
// then yields; the block's scheduler releases a barrier when every live thread waits at the same one
// and computes a collective when every lane of its mask has posted. Whatever CUDA leaves undefined
// and the emulator can see aborts the launch with file:line: threads waiting at different barriers,
// a barrier some thread exited before, a collective whose mask names an exited or missing lane.
//
// Shared memory is a fresh heap block per block: each static array (declared with TF_SHARED, see
// cuda/compat.h) gets its own, of exactly its size, on the first thread's arrival at the declaration,
// and dynamic shared memory one of exactly the launch's size. All are filled with 0xff so
// uninitialised reads give NaN, freed when the block ends, and seen by AddressSanitizer (an overrun
// or a use after the block is a report). cudaMalloc'd memory is poisoned the same way. A bare
// __shared__ is `static thread_local`, unchecked: kernels must not use it (test/cuda_build.test.ts).
//
// The order in which a block's ready threads run is a setting (set_schedule): in order, reversed,
// seeded random, or one warp run as far ahead of the others as the barriers allow. A kernel whose
// result depends on that order has a race.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <tuple>
#include <type_traits>
#include <utility>

// ---- qualifiers -------------------------------------------------------------------------------------
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline __attribute__((always_inline))
#define __noinline__ __attribute__((noinline))
#define __restrict__ __restrict
#define __launch_bounds__(...)
#define __shared__ static thread_local
#define __constant__ static

// ---- runtime types ----------------------------------------------------------------------------------
enum cudaError_t {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorInvalidDevicePointer = 17,
  cudaErrorInvalidMemcpyDirection = 21,
  cudaErrorInsufficientDriver = 35,
  cudaErrorNoDevice = 100,
  cudaErrorInvalidDevice = 101,
  cudaErrorLaunchOutOfResources = 701,
  cudaErrorLaunchFailure = 719,
};
typedef cudaError_t cudaError;

enum cudaMemcpyKind {
  cudaMemcpyHostToHost = 0,
  cudaMemcpyHostToDevice = 1,
  cudaMemcpyDeviceToHost = 2,
  cudaMemcpyDeviceToDevice = 3,
  cudaMemcpyDefault = 4,
};

enum cudaFuncAttribute { cudaFuncAttributeMaxDynamicSharedMemorySize = 8 };

struct CUstream_st;
typedef CUstream_st* cudaStream_t;
struct CUevent_st;
typedef CUevent_st* cudaEvent_t;

struct cudaDeviceProp {
  char name[256];
  size_t totalGlobalMem;
  size_t sharedMemPerBlock;
  size_t sharedMemPerBlockOptin;
  int warpSize;
  int maxThreadsPerBlock;
  int maxThreadsDim[3];
  int maxGridSize[3];
  int multiProcessorCount;
  int major;
  int minor;
};

struct dim3 {
  unsigned x, y, z;
  constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};
struct uint3 {
  unsigned x, y, z;
};

// The running thread's coordinates (set by the executor before it switches into a fiber).
extern thread_local uint3 threadIdx;
extern thread_local uint3 blockIdx;
extern thread_local dim3 blockDim;
extern thread_local dim3 gridDim;
constexpr int warpSize = 32;

// ---- runtime API (runtime.cpp) ----------------------------------------------------------------------
cudaError_t cudaGetDeviceCount(int* count);
cudaError_t cudaSetDevice(int device);
cudaError_t cudaGetDevice(int* device);
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device);
cudaError_t cudaDriverGetVersion(int* version);
cudaError_t cudaRuntimeGetVersion(int* version);
cudaError_t cudaMalloc(void** ptr, size_t bytes);
cudaError_t cudaFree(void* ptr);
cudaError_t cudaMallocHost(void** ptr, size_t bytes);
cudaError_t cudaFreeHost(void* ptr);
cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind);
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, cudaStream_t stream = nullptr);
cudaError_t cudaMemset(void* ptr, int value, size_t bytes);
cudaError_t cudaMemsetAsync(void* ptr, int value, size_t bytes, cudaStream_t stream = nullptr);
cudaError_t cudaMemGetInfo(size_t* free_bytes, size_t* total_bytes);
cudaError_t cudaStreamCreate(cudaStream_t* stream);
cudaError_t cudaStreamDestroy(cudaStream_t stream);
cudaError_t cudaStreamSynchronize(cudaStream_t stream);
cudaError_t cudaDeviceSynchronize();
cudaError_t cudaGetLastError();
cudaError_t cudaPeekAtLastError();
const char* cudaGetErrorString(cudaError_t error);
const char* cudaGetErrorName(cudaError_t error);
template <class F> cudaError_t cudaFuncSetAttribute(F* kernel, cudaFuncAttribute attr, int value);

// ---- the emulator's own controls --------------------------------------------------------------------
namespace tf_emu {

enum class Schedule { InOrder, Reversed, Random, WarpAhead };
// How a block's threads are interleaved (seed: for Random and for which warp runs ahead).
void set_schedule(Schedule s, uint64_t seed);
Schedule schedule();
// The diagnostic of the last failed launch ("" when none): what went wrong, the kernel, file:line.
const char* last_failure();
// Device memory: bytes currently allocated by cudaMalloc (for tests of the allocator above it).
size_t device_bytes_in_use();

// ---- launching --------------------------------------------------------------------------------------
using BlockBody = void (*)(void* closure);
// Runs a grid: validates the configuration, then calls body(closure) once per CUDA thread.
void launch(const char* kernel_name, const void* kernel_key, dim3 grid, dim3 block, size_t smem, cudaStream_t stream,
            BlockBody body, void* closure);
void set_max_dynamic_smem(const void* kernel_key, int bytes);

template <class... P>
struct Launcher {
  void (*kernel)(P...);
  const char* name;
  dim3 grid, block;
  size_t smem;
  cudaStream_t stream;
  template <class... A>
  void operator()(A&&... args) const {
    // Arguments are converted to the kernel's parameter types and copied once, like a real launch.
    std::tuple<std::decay_t<P>...> params(std::forward<A>(args)...);
    struct Closure {
      void (*k)(P...);
      std::tuple<std::decay_t<P>...>* p;
    } c{kernel, &params};
    launch(name, reinterpret_cast<const void*>(kernel), grid, block, smem, stream,
           [](void* cl) {
             auto* cc = static_cast<Closure*>(cl);
             std::apply(cc->k, *cc->p);
           },
           &c);
  }
};
template <class... P>
Launcher<P...> make_launcher(dim3 grid, dim3 block, size_t smem, cudaStream_t stream, const char* name,
                             void (*kernel)(P...)) {
  return Launcher<P...>{kernel, name, grid, block, smem, stream};
}

// ---- block-level synchronisation and warp collectives (executor.cpp) -----------------------------------
void syncthreads(const char* file, int line);
enum class WarpOp { Sync, ShflIdx, ShflUp, ShflDown, ShflXor, Ballot, Any, All };
// Posts this lane's operand and waits for the lanes of `mask`; returns this lane's result.
uint64_t warp_collective(WarpOp op, unsigned mask, uint64_t value, int param, int width, const char* file, int line);
unsigned active_mask();
void* dynamic_smem();
// The block's array for the TF_SHARED declaration at `site` (its address names it).
void* static_smem(const void* site, size_t bytes, size_t align);

template <class T>
inline uint64_t to_bits(T v) {
  static_assert(sizeof(T) <= 8, "warp collectives move at most 8 bytes per lane");
  uint64_t b = 0;
  std::memcpy(&b, &v, sizeof(T));
  return b;
}
template <class T>
inline T from_bits(uint64_t b) {
  T v;
  std::memcpy(&v, &b, sizeof(T));
  return v;
}

}  // namespace tf_emu

template <class F>
cudaError_t cudaFuncSetAttribute(F* kernel, cudaFuncAttribute attr, int value) {
  if (attr != cudaFuncAttributeMaxDynamicSharedMemorySize || value < 0) return cudaErrorInvalidValue;
  tf_emu::set_max_dynamic_smem(reinterpret_cast<const void*>(kernel), value);
  return cudaSuccess;
}

// The collectives take the call site through GCC's __builtin_FILE/LINE default arguments, so the
// executor can say where threads wait.
inline void __syncthreads(const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
  tf_emu::syncthreads(file, line);
}
inline void __syncwarp(unsigned mask = 0xffffffffu, const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
  tf_emu::warp_collective(tf_emu::WarpOp::Sync, mask, 0, 0, 32, file, line);
}
#define TF_EMU_SHFL(name, op)                                                                           \
  template <class T>                                                                                    \
  inline T name(unsigned mask, T v, int param, int width = 32, const char* file = __builtin_FILE(),     \
                int line = __builtin_LINE()) {                                                          \
    return tf_emu::from_bits<T>(tf_emu::warp_collective(tf_emu::WarpOp::op, mask, tf_emu::to_bits(v), param, width, \
                                                        file, line));                                   \
  }
TF_EMU_SHFL(__shfl_sync, ShflIdx)
TF_EMU_SHFL(__shfl_up_sync, ShflUp)
TF_EMU_SHFL(__shfl_down_sync, ShflDown)
TF_EMU_SHFL(__shfl_xor_sync, ShflXor)
#undef TF_EMU_SHFL
inline unsigned __ballot_sync(unsigned mask, int pred, const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
  return unsigned(tf_emu::warp_collective(tf_emu::WarpOp::Ballot, mask, pred != 0, 0, 32, file, line));
}
inline int __any_sync(unsigned mask, int pred, const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
  return int(tf_emu::warp_collective(tf_emu::WarpOp::Any, mask, pred != 0, 0, 32, file, line));
}
inline int __all_sync(unsigned mask, int pred, const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
  return int(tf_emu::warp_collective(tf_emu::WarpOp::All, mask, pred != 0, 0, 32, file, line));
}
inline unsigned __activemask() { return tf_emu::active_mask(); }

// ---- atomics (blocks run in parallel on several OS threads, so these are real atomics) ---------------
template <class T>
inline T tf_emu_atomic_float_op(T* addr, T v, int op) {
  static_assert(sizeof(T) == 4 || sizeof(T) == 8, "float atomics on 4 or 8 bytes");
  using U = std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>;
  U* p = reinterpret_cast<U*>(addr);
  U old = __atomic_load_n(p, __ATOMIC_RELAXED);
  for (;;) {
    T cur;
    std::memcpy(&cur, &old, sizeof(T));
    T next = op == 0 ? cur + v : (op == 1 ? (cur > v ? cur : v) : (cur < v ? cur : v));
    U nb;
    std::memcpy(&nb, &next, sizeof(T));
    if (__atomic_compare_exchange_n(p, &old, nb, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) return cur;
  }
}
inline float atomicAdd(float* a, float v) { return tf_emu_atomic_float_op(a, v, 0); }
inline double atomicAdd(double* a, double v) { return tf_emu_atomic_float_op(a, v, 0); }
inline int atomicAdd(int* a, int v) { return __atomic_fetch_add(a, v, __ATOMIC_RELAXED); }
inline unsigned atomicAdd(unsigned* a, unsigned v) { return __atomic_fetch_add(a, v, __ATOMIC_RELAXED); }
inline unsigned long long atomicAdd(unsigned long long* a, unsigned long long v) {
  return __atomic_fetch_add(a, v, __ATOMIC_RELAXED);
}
inline int atomicMax(int* a, int v) {
  int old = __atomic_load_n(a, __ATOMIC_RELAXED);
  while (old < v && !__atomic_compare_exchange_n(a, &old, v, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
  }
  return old;
}
inline int atomicMin(int* a, int v) {
  int old = __atomic_load_n(a, __ATOMIC_RELAXED);
  while (old > v && !__atomic_compare_exchange_n(a, &old, v, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
  }
  return old;
}
inline int atomicCAS(int* a, int expected, int desired) {
  __atomic_compare_exchange_n(a, &expected, desired, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
  return expected;
}
inline unsigned long long atomicCAS(unsigned long long* a, unsigned long long expected, unsigned long long desired) {
  __atomic_compare_exchange_n(a, &expected, desired, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
  return expected;
}
inline int atomicExch(int* a, int v) { return __atomic_exchange_n(a, v, __ATOMIC_RELAXED); }
inline void __threadfence() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }

// ---- device math the kernels use that the host library spells differently ----------------------------
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
inline double rsqrt(double x) { return 1.0 / std::sqrt(x); }
inline float __expf(float x) { return std::exp(x); }
inline float __logf(float x) { return std::log(x); }
inline float __fdividef(float a, float b) { return a / b; }
inline float __int_as_float(int v) { float f; std::memcpy(&f, &v, 4); return f; }
inline int __float_as_int(float f) { int v; std::memcpy(&v, &f, 4); return v; }
inline int __popc(unsigned v) { return __builtin_popcount(v); }
inline int __ffs(int v) { return __builtin_ffs(v); }
