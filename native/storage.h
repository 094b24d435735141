// Native buffers ("storages") and the table that names them.
//
// JS holds a storage as a number, its handle: slot + generation * 2^24. A handle is checked against
// the live slot's generation on every use, so a freed or forged handle is an Error, never a dangling
// pointer. Handles cost no JS object per buffer (an ObjectWrap costs ~1.5 µs to create), which is
// most of the overhead of a small op.
//
// Freed blocks of 16 KiB or more go to a cache keyed by size and are reused by the next allocation
// of that size (a training step allocates the same sizes every iteration); this skips the page
// faults of fresh memory, since glibc returns large blocks to the OS on free. The cache holds at
// most TENSORFORGE_CPU_CACHE_MB (default 1024) MiB; emptyCache() releases it.
//
// Live bytes are reported to V8 (AdjustExternalMemory) so the GC sees native memory.
#pragma once
#include <cstdint>

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

}  // namespace tf
