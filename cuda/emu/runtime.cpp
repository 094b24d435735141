// The emulator's stand-in for the CUDA runtime: one device whose memory is host memory, streams that
// run their work at once (a launch returns after the grid has run), and CUDA's error codes.
//
// TENSORFORGE_CUDA_EMU_DEVICES=0 makes cudaGetDeviceCount fail with cudaErrorNoDevice, so the
// library's "CUDA is present but unusable" path can be tested too.
#include <cstdlib>
#include <mutex>
#include <unordered_map>

#include "cuda_emu.h"

namespace tf_emu {
namespace {

std::mutex g_mutex;
std::unordered_map<void*, size_t> g_allocations;
size_t g_bytes = 0;
thread_local cudaError_t tls_last_error = cudaSuccess;
int g_device = 0;

constexpr size_t kTotalMemory = size_t(16) << 30;  // what the emulated device claims to have

bool is_device_pointer_range(const void* p, size_t bytes) {
  // Any pointer inside a live allocation is a device pointer; the range must stay inside it.
  std::lock_guard<std::mutex> lock(g_mutex);
  const char* c = static_cast<const char*>(p);
  for (const auto& kv : g_allocations) {
    const char* base = static_cast<const char*>(kv.first);
    if (c >= base && c + bytes <= base + kv.second) return true;
  }
  return false;
}

bool emulate_no_device() {
  const char* env = std::getenv("TENSORFORGE_CUDA_EMU_DEVICES");
  return env && std::atoi(env) == 0 && env[0] == '0';
}

cudaError_t ret(cudaError_t e) {
  if (e != cudaSuccess) tls_last_error = e;
  return e;
}

}  // namespace

void record_launch_error(cudaError_t e) { tls_last_error = e; }

size_t device_bytes_in_use() {
  std::lock_guard<std::mutex> lock(g_mutex);
  return g_bytes;
}

}  // namespace tf_emu

using tf_emu::ret;

cudaError_t cudaGetDeviceCount(int* count) {
  if (!count) return ret(cudaErrorInvalidValue);
  if (tf_emu::emulate_no_device()) {
    *count = 0;
    return ret(cudaErrorNoDevice);
  }
  *count = 1;
  return cudaSuccess;
}
cudaError_t cudaSetDevice(int device) {
  if (device != 0) return ret(cudaErrorInvalidDevice);
  tf_emu::g_device = device;
  return cudaSuccess;
}
cudaError_t cudaGetDevice(int* device) {
  if (!device) return ret(cudaErrorInvalidValue);
  *device = tf_emu::g_device;
  return cudaSuccess;
}
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* p, int device) {
  if (!p) return ret(cudaErrorInvalidValue);
  if (device != 0) return ret(cudaErrorInvalidDevice);
  std::memset(p, 0, sizeof(*p));
  std::strcpy(p->name, "tensorforge CUDA emulator (CPU)");
  p->totalGlobalMem = tf_emu::kTotalMemory;
  p->sharedMemPerBlock = 48 * 1024;
  p->sharedMemPerBlockOptin = 227 * 1024;
  p->warpSize = 32;
  p->maxThreadsPerBlock = 1024;
  p->maxThreadsDim[0] = 1024;
  p->maxThreadsDim[1] = 1024;
  p->maxThreadsDim[2] = 64;
  p->maxGridSize[0] = 2147483647;
  p->maxGridSize[1] = 65535;
  p->maxGridSize[2] = 65535;
  p->multiProcessorCount = 4;  // small grids: emulated threads are expensive
  p->major = 9;
  p->minor = 0;
  return cudaSuccess;
}
cudaError_t cudaDriverGetVersion(int* v) {
  if (!v) return ret(cudaErrorInvalidValue);
  *v = 13000;
  return cudaSuccess;
}
cudaError_t cudaRuntimeGetVersion(int* v) {
  if (!v) return ret(cudaErrorInvalidValue);
  *v = 13000;
  return cudaSuccess;
}

cudaError_t cudaMalloc(void** ptr, size_t bytes) {
  if (!ptr) return ret(cudaErrorInvalidValue);
  *ptr = nullptr;
  {
    std::lock_guard<std::mutex> lock(tf_emu::g_mutex);
    if (tf_emu::g_bytes + bytes > tf_emu::kTotalMemory) return ret(cudaErrorMemoryAllocation);
  }
  // 256-aligned like cudaMalloc; under AddressSanitizer exactly `bytes`, so the first byte past the
  // end is poisoned (malloc's 16-byte alignment is enough for every kernel here).
#if defined(__SANITIZE_ADDRESS__)
  void* p = std::malloc(bytes ? bytes : 1);
#else
  void* p = std::aligned_alloc(256, (bytes + 255) / 256 * 256);
#endif
  if (!p) return ret(cudaErrorMemoryAllocation);
  std::memset(p, 0xff, bytes);  // uninitialised device memory reads as NaN / -1
  std::lock_guard<std::mutex> lock(tf_emu::g_mutex);
  tf_emu::g_allocations[p] = bytes;
  tf_emu::g_bytes += bytes;
  *ptr = p;
  return cudaSuccess;
}
cudaError_t cudaFree(void* ptr) {
  if (!ptr) return cudaSuccess;
  std::lock_guard<std::mutex> lock(tf_emu::g_mutex);
  auto it = tf_emu::g_allocations.find(ptr);
  if (it == tf_emu::g_allocations.end()) return ret(cudaErrorInvalidDevicePointer);
  tf_emu::g_bytes -= it->second;
  tf_emu::g_allocations.erase(it);
  std::free(ptr);
  return cudaSuccess;
}
cudaError_t cudaMallocHost(void** ptr, size_t bytes) {
  if (!ptr) return ret(cudaErrorInvalidValue);
  *ptr = std::malloc(bytes ? bytes : 1);
  return *ptr ? cudaSuccess : ret(cudaErrorMemoryAllocation);
}
cudaError_t cudaFreeHost(void* ptr) {
  std::free(ptr);
  return cudaSuccess;
}

cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind) {
  if (bytes == 0) return cudaSuccess;
  if (!dst || !src || kind > cudaMemcpyDefault) return ret(cudaErrorInvalidValue);
  // The direction must match where the pointers live, as on a GPU (a host pointer given as device
  // memory would fault there).
  const bool dst_dev = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
  const bool src_dev = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
  if ((dst_dev && !tf_emu::is_device_pointer_range(dst, bytes)) || (src_dev && !tf_emu::is_device_pointer_range(src, bytes)))
    return ret(cudaErrorInvalidValue);
  std::memmove(dst, src, bytes);
  return cudaSuccess;
}
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, cudaStream_t) {
  return cudaMemcpy(dst, src, bytes, kind);
}
cudaError_t cudaMemset(void* ptr, int value, size_t bytes) {
  if (bytes == 0) return cudaSuccess;
  if (!tf_emu::is_device_pointer_range(ptr, bytes)) return ret(cudaErrorInvalidValue);
  std::memset(ptr, value, bytes);
  return cudaSuccess;
}
cudaError_t cudaMemsetAsync(void* ptr, int value, size_t bytes, cudaStream_t) { return cudaMemset(ptr, value, bytes); }
cudaError_t cudaMemGetInfo(size_t* free_bytes, size_t* total_bytes) {
  if (!free_bytes || !total_bytes) return ret(cudaErrorInvalidValue);
  std::lock_guard<std::mutex> lock(tf_emu::g_mutex);
  *total_bytes = tf_emu::kTotalMemory;
  *free_bytes = tf_emu::kTotalMemory - tf_emu::g_bytes;
  return cudaSuccess;
}

struct CUstream_st {
  int unused;
};
cudaError_t cudaStreamCreate(cudaStream_t* stream) {
  if (!stream) return ret(cudaErrorInvalidValue);
  *stream = new CUstream_st{0};
  return cudaSuccess;
}
cudaError_t cudaStreamDestroy(cudaStream_t stream) {
  delete stream;
  return cudaSuccess;
}
cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }
cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }

cudaError_t cudaGetLastError() {
  const cudaError_t e = tf_emu::tls_last_error;
  tf_emu::tls_last_error = cudaSuccess;
  return e;
}
cudaError_t cudaPeekAtLastError() { return tf_emu::tls_last_error; }

const char* cudaGetErrorName(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorInvalidDevicePointer: return "cudaErrorInvalidDevicePointer";
    case cudaErrorInvalidMemcpyDirection: return "cudaErrorInvalidMemcpyDirection";
    case cudaErrorInsufficientDriver: return "cudaErrorInsufficientDriver";
    case cudaErrorNoDevice: return "cudaErrorNoDevice";
    case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
    case cudaErrorLaunchOutOfResources: return "cudaErrorLaunchOutOfResources";
    case cudaErrorLaunchFailure: return "cudaErrorLaunchFailure";
  }
  return "cudaErrorUnknown";
}
const char* cudaGetErrorString(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidDevicePointer: return "invalid device pointer";
    case cudaErrorInvalidMemcpyDirection: return "invalid copy direction for memcpy";
    case cudaErrorInsufficientDriver: return "CUDA driver version is insufficient for CUDA runtime version";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorLaunchOutOfResources: return "too many resources requested for launch";
    case cudaErrorLaunchFailure: return "unspecified launch failure";
  }
  return "unknown error";
}
