#include "storage.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "tensor_view.h"

namespace tf {
namespace {

constexpr double kGenScale = 16777216.0;  // 2^24 slots

struct Slot {
  void* data = nullptr;
  int64_t numel = 0;
  size_t alloc_bytes = 0;
  int32_t dtype = 0;
  uint32_t gen = 0;
  bool live = false;
};

size_t cache_limit() {
  const char* env = std::getenv(memory_cache_env());
  if (env && *env) {
    const long mb = std::atol(env);
    if (mb >= 0) return size_t(mb) << 20;
  }
  return size_t(1024) << 20;
}

struct Table {
  std::mutex m;
  std::vector<Slot> slots;
  std::vector<uint32_t> free_slots;
  std::unordered_multimap<size_t, void*> cache;  // alloc size -> free block
  size_t cached_bytes = 0;
  size_t limit = cache_limit();
  size_t min_cached = memory_cache_min_bytes();
  int64_t live_storages = 0, live_bytes = 0;

  void* take_block(size_t bytes) {
    auto it = cache.find(bytes);
    if (it != cache.end()) {
      void* p = it->second;
      cache.erase(it);
      cached_bytes -= bytes;
      return p;
    }
    void* p = memory_alloc(bytes);
    if (!p && !cache.empty()) {  // out of memory: give the cache back and retry once
      release_cache();
      p = memory_alloc(bytes);
    }
    return p;
  }
  void give_block(void* p, size_t bytes) {
    if (bytes >= min_cached && cached_bytes + bytes <= limit) {
      cache.emplace(bytes, p);
      cached_bytes += bytes;
    } else {
      memory_free(p);
    }
  }
  void release_cache() {
    for (auto& kv : cache) memory_free(kv.second);
    cache.clear();
    cached_bytes = 0;
  }
};

Table& table() {
  static Table* t = new Table();  // never destroyed: storages may be freed during teardown
  return *t;
}

}  // namespace

double storage_alloc(int32_t dtype, int64_t numel, bool zero, int64_t* bytes_out) {
  const int64_t bytes = numel * dtype_size(dtype);
  // 64-byte multiple (full-width vector loads stay inside), never zero.
  const size_t alloc = size_t((bytes + 63) / 64 * 64 + 64);
  Table& t = table();
  std::lock_guard<std::mutex> lock(t.m);
  void* p = t.take_block(alloc);
  if (!p) return -1;
  if (zero) memory_zero(p, size_t(bytes));
  uint32_t slot;
  if (!t.free_slots.empty()) {
    slot = t.free_slots.back();
    t.free_slots.pop_back();
  } else {
    if (t.slots.size() >= size_t(kGenScale)) {
      t.give_block(p, alloc);
      return -1;
    }
    slot = uint32_t(t.slots.size());
    t.slots.emplace_back();
  }
  Slot& s = t.slots[slot];
  s.data = p;
  s.numel = numel;
  s.alloc_bytes = alloc;
  s.dtype = dtype;
  s.live = true;
  s.gen = (s.gen + 1) % (1u << 28);
  t.live_storages++;
  t.live_bytes += bytes;
  *bytes_out = bytes;
  return double(slot) + double(s.gen) * kGenScale;
}

static bool decode(Table& t, double handle, uint32_t* slot_out) {
  if (!(handle >= 0) || handle != std::floor(handle) || handle >= 9007199254740992.0) return false;
  const double gen = std::floor(handle / kGenScale);
  const double slot = handle - gen * kGenScale;
  if (slot >= double(t.slots.size())) return false;
  const Slot& s = t.slots[size_t(slot)];
  if (!s.live || double(s.gen) != gen) return false;
  *slot_out = uint32_t(slot);
  return true;
}

int64_t storage_free(double handle) {
  Table& t = table();
  std::lock_guard<std::mutex> lock(t.m);
  uint32_t slot;
  if (!decode(t, handle, &slot)) return 0;
  Slot& s = t.slots[slot];
  const int64_t bytes = s.numel * dtype_size(s.dtype);
  t.give_block(s.data, s.alloc_bytes);
  s.data = nullptr;
  s.live = false;
  t.free_slots.push_back(slot);
  t.live_storages--;
  t.live_bytes -= bytes;
  return bytes;
}

bool storage_lookup(double handle, StorageInfo* out) {
  Table& t = table();
  std::lock_guard<std::mutex> lock(t.m);
  uint32_t slot;
  if (!decode(t, handle, &slot)) return false;
  const Slot& s = t.slots[slot];
  *out = StorageInfo{s.data, s.numel, s.dtype};
  return true;
}

StorageStats storage_stats() {
  Table& t = table();
  std::lock_guard<std::mutex> lock(t.m);
  return StorageStats{t.live_storages, t.live_bytes, int64_t(t.cached_bytes)};
}

void storage_empty_cache() {
  Table& t = table();
  std::lock_guard<std::mutex> lock(t.m);
  t.release_cache();
}

}  // namespace tf
