// Native buffers ("storages") and the table that names them.
//
// JS holds a storage as a number, its handle: slot + generation * 2^24. A handle is checked against
// the live slot's generation on every use, so a freed or forged handle is an Error, never a dangling
// pointer. Handles cost no JS object per buffer (an ObjectWrap costs ~1.5 µs to create), which is
// most of the overhead of a small op.
//
// Freed blocks of 16 KiB or more go to a cache keyed by size and are reused by the next allocation
// of that size (a training step allocates the same sizes every iteration); this skips the page
// faults of fresh memory, since glibc returns large blocks to the OS on free, and on a GPU it skips
// cudaMalloc, which synchronises the device. The cache holds at most TENSORFORGE_CPU_CACHE_MB
// (TENSORFORGE_CUDA_CACHE_MB on CUDA; default 1024) MiB; emptyCache() releases it.
//
// The table is the same for every device; the memory under it comes from memory_* below, which
// native/memory_host.cpp (CPU) and cuda/device_memory.cpp (CUDA) implement.
//
// Live bytes are reported to V8 (AdjustExternalMemory) so the GC sees native memory.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace tf {

struct StorageInfo {
  void* data;
  int64_t numel;
  int32_t dtype;
};

// Largest single allocation accepted (guards against absurd or hostile sizes).
constexpr int64_t kMaxStorageBytes = int64_t(1) << 40;

// Allocates numel elements of dtype (zero-filled if asked); returns the handle, or -1 when out of
// memory. Arguments must already be validated (dtype known, numel * size <= kMaxStorageBytes).
double storage_alloc(int32_t dtype, int64_t numel, bool zero, int64_t* bytes_out);
// Frees a live handle; returns the bytes freed (0 for a handle that is not live).
int64_t storage_free(double handle);
// Looks a handle up; false when it is not a live storage.
bool storage_lookup(double handle, StorageInfo* out);

struct StorageStats {
  int64_t live_storages, live_bytes, cached_bytes;
};
StorageStats storage_stats();
void storage_empty_cache();

// Raw blocks for the table: 64-byte aligned (CPU) or 256-byte aligned (CUDA); null when out of memory.
void* memory_alloc(size_t bytes);
void memory_free(void* p);
void memory_zero(void* p, size_t bytes);
// The environment variable that caps the cache, in MiB (default 1024).
const char* memory_cache_env();
// Smaller freed blocks are returned at once instead of cached.
size_t memory_cache_min_bytes();

// The same binding (native/binding.cpp) serves the CPU addon and the CUDA addons, whose storages
// live in device memory (cuda/device_storage.cpp implements this header there). What the binding
// itself reads or writes of a storage goes through these: plain memcpy on the CPU, a device copy
// that waits for the stream on CUDA.
void copy_to_host(void* dst, const void* src, size_t bytes);
void copy_from_host(void* dst, const void* src, size_t bytes);
// The failure of the last device work (a launch, a copy), once; false when there is none (always
// on the CPU, whose kernels cannot fail).
bool take_device_error(std::string* message);

}  // namespace tf
