// Device memory under the storage table (native/storage.h) for the CUDA addons, the device's one
// stream, and the pending-error slot through which a failed launch or copy reaches the binding
// (which throws it as a JS Error naming the op).
//
// Host copies go through a pinned staging buffer (page-locked, so the DMA engine reads it directly)
// in chunks of at most kStagingBytes; a read waits for the stream, so it sees every earlier kernel.
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>

#include "../native/storage.h"
#include "device.h"

namespace tf {
namespace {

constexpr size_t kStagingBytes = size_t(8) << 20;

struct Device {
  std::mutex m;
  bool ready = false;
  cudaStream_t stream = nullptr;
  int sm_count = 1;
  void* staging = nullptr;
  std::string error;  // pending, taken by take_device_error
};

Device& dev() {
  static Device* d = new Device();  // never destroyed: storages may be freed during teardown
  if (!d->ready) {
    std::lock_guard<std::mutex> lock(d->m);
    if (!d->ready) {
      cudaDeviceProp prop;
      if (cudaGetDeviceProperties(&prop, 0) == cudaSuccess) d->sm_count = prop.multiProcessorCount;
      if (cudaStreamCreate(&d->stream) != cudaSuccess) d->stream = nullptr;
      if (cudaMallocHost(&d->staging, kStagingBytes) != cudaSuccess) d->staging = nullptr;
      cudaGetLastError();
      d->ready = true;
    }
  }
  return *d;
}

void set_error(const std::string& msg) {
  Device& d = dev();
  std::lock_guard<std::mutex> lock(d.m);
  if (d.error.empty()) d.error = msg;
}

}  // namespace

namespace cuda {

cudaStream_t device_stream() { return dev().stream; }
int device_sm_count() { return dev().sm_count; }

void check_launch(const char* kernel) {
  const cudaError_t e = cudaGetLastError();
  if (e == cudaSuccess) return;
  std::string msg = std::string("CUDA kernel ") + kernel + " failed: " + cudaGetErrorName(e) + " (" +
                    cudaGetErrorString(e) + ")";
#ifdef TF_CUDA_EMULATE
  const char* why = tf_emu::last_failure();
  if (why && *why) msg += ": " + std::string(why);
#endif
  set_error(msg);
}

void check_call(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return;
  cudaGetLastError();
  set_error(std::string(what) + " failed: " + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")");
}

}  // namespace cuda

void* memory_alloc(size_t bytes) {
  void* p = nullptr;
  if (cudaMalloc(&p, bytes) != cudaSuccess) {
    cudaGetLastError();  // out of memory is reported by the caller, not left pending
    return nullptr;
  }
  return p;
}
void memory_free(void* p) {
  // A freed block may still be read by queued kernels: wait for them before the memory can be
  // reused by anyone else (blocks kept in the storage cache are reused in stream order instead).
  cudaStreamSynchronize(dev().stream);
  cudaFree(p);
}
void memory_zero(void* p, size_t bytes) { cuda::check_call(cudaMemsetAsync(p, 0, bytes, dev().stream), "cudaMemset"); }

const char* memory_cache_env() { return "TENSORFORGE_CUDA_CACHE_MB"; }

// Every block is cached: cudaFree waits for the device, and a cached block is reused in stream order.
size_t memory_cache_min_bytes() { return 0; }

void copy_to_host(void* dst, const void* src, size_t bytes) {
  Device& d = dev();
  char* out = static_cast<char*>(dst);
  const char* in = static_cast<const char*>(src);
  while (bytes > 0) {
    const size_t n = d.staging && bytes > kStagingBytes ? kStagingBytes : bytes;
    void* stage = d.staging ? d.staging : out;
    cudaError_t e = cudaMemcpyAsync(stage, in, n, cudaMemcpyDeviceToHost, d.stream);
    if (e == cudaSuccess) e = cudaStreamSynchronize(d.stream);
    if (e != cudaSuccess) {
      cuda::check_call(e, "copy to host");
      std::memset(out, 0, bytes);
      return;
    }
    if (d.staging) std::memcpy(out, stage, n);
    out += n;
    in += n;
    bytes -= n;
  }
}

void copy_from_host(void* dst, const void* src, size_t bytes) {
  Device& d = dev();
  char* out = static_cast<char*>(dst);
  const char* in = static_cast<const char*>(src);
  while (bytes > 0) {
    const size_t n = d.staging && bytes > kStagingBytes ? kStagingBytes : bytes;
    const void* stage = in;
    if (d.staging) {
      std::memcpy(d.staging, in, n);
      stage = d.staging;
    }
    cudaError_t e = cudaMemcpyAsync(out, stage, n, cudaMemcpyHostToDevice, d.stream);
    // The staging buffer is reused by the next chunk (and the JS array may be collected): wait.
    if (e == cudaSuccess) e = cudaStreamSynchronize(d.stream);
    if (e != cudaSuccess) {
      cuda::check_call(e, "copy from host");
      return;
    }
    out += n;
    in += n;
    bytes -= n;
  }
}

bool take_device_error(std::string* message) {
  Device& d = dev();
  std::lock_guard<std::mutex> lock(d.m);
  if (d.error.empty()) return false;
  *message = d.error;
  d.error.clear();
  return true;
}

}  // namespace tf
