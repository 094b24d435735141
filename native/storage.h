// Storage: one native buffer of `numel` elements of one dtype, owned by a JS object.
//
// Freed at once by free() (Tensor.dispose / tidy) or, failing that, when the JS object is garbage
// collected. Every allocation and free is reported to V8 (AdjustExternalMemory) so the GC sees native
// bytes, and counted in live_storages()/live_bytes() for tensorforge.memory().
#pragma once
#include <napi.h>

#include <atomic>
#include <cstdint>

#include "tensor_view.h"

namespace tf {

class Storage : public Napi::ObjectWrap<Storage> {
 public:
  static Napi::Function Init(Napi::Env env);
  static bool IsStorage(Napi::Env env, Napi::Value v);
  explicit Storage(const Napi::CallbackInfo& info);
  ~Storage() override;
  void Finalize(Napi::Env env) override;

  void* data() const { return data_; }
  int32_t dtype() const { return dtype_; }
  int64_t numel() const { return numel_; }
  bool freed() const { return freed_; }

  static int64_t live_storages() { return live_storages_.load(); }
  static int64_t live_bytes() { return live_bytes_.load(); }
  // Largest single allocation we accept (guards against absurd or hostile sizes).
  static constexpr int64_t kMaxBytes = int64_t(1) << 40;

 private:
  Napi::Value Free(const Napi::CallbackInfo& info);
  Napi::Value GetNumel(const Napi::CallbackInfo& info);
  Napi::Value GetDType(const Napi::CallbackInfo& info);
  Napi::Value GetFreed(const Napi::CallbackInfo& info);
  void release(Napi::Env env);

  void* data_ = nullptr;
  int32_t dtype_ = 0;
  int64_t numel_ = 0;
  int64_t bytes_ = 0;
  bool freed_ = false;

  static std::atomic<int64_t> live_storages_, live_bytes_;
};

}  // namespace tf
