// Host memory under the storage table (native/storage.h) for the CPU addon.
#include <cstdlib>
#include <cstring>

#include "storage.h"

namespace tf {

void* memory_alloc(size_t bytes) { return std::aligned_alloc(64, bytes); }
void memory_free(void* p) { std::free(p); }
void memory_zero(void* p, size_t bytes) { std::memset(p, 0, bytes); }

const char* memory_cache_env() { return "TENSORFORGE_CPU_CACHE_MB"; }

// Small blocks come back fast from malloc's own free lists.
size_t memory_cache_min_bytes() { return 16 * 1024; }

void copy_to_host(void* dst, const void* src, size_t bytes) { std::memcpy(dst, src, bytes); }
void copy_from_host(void* dst, const void* src, size_t bytes) { std::memcpy(dst, src, bytes); }
bool take_device_error(std::string*) { return false; }

}  // namespace tf
