#include "storage.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>

namespace tf {

std::atomic<int64_t> Storage::live_storages_{0};
std::atomic<int64_t> Storage::live_bytes_{0};

static Napi::FunctionReference* g_storage_ctor = nullptr;

Napi::Function Storage::Init(Napi::Env env) {
  Napi::Function ctor = DefineClass(env, "Storage",
                                    {
                                        InstanceMethod("free", &Storage::Free),
                                        InstanceAccessor("numel", &Storage::GetNumel, nullptr),
                                        InstanceAccessor("dtype", &Storage::GetDType, nullptr),
                                        InstanceAccessor("freed", &Storage::GetFreed, nullptr),
                                    });
  g_storage_ctor = new Napi::FunctionReference(Napi::Persistent(ctor));
  return ctor;
}

bool Storage::IsStorage(Napi::Env env, Napi::Value v) {
  return v.IsObject() && g_storage_ctor && v.As<Napi::Object>().InstanceOf(g_storage_ctor->Value());
}

// new Storage(dtype, numel, zero)
Storage::Storage(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Storage>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsNumber())
    throw Napi::TypeError::New(env, "Storage: expected (dtype, numel)");
  const int32_t dtype = info[0].As<Napi::Number>().Int32Value();
  const double numel = info[1].As<Napi::Number>().DoubleValue();
  if (dtype < 0 || dtype >= kNumDTypes) throw Napi::RangeError::New(env, "Storage: unknown dtype code " + std::to_string(dtype));
  if (!(numel >= 0) || numel != std::floor(numel) || numel > double(kMaxBytes))
    throw Napi::RangeError::New(env, "Storage: invalid element count " + std::to_string(numel));
  dtype_ = dtype;
  numel_ = int64_t(numel);
  bytes_ = numel_ * dtype_size(dtype);
  if (bytes_ > kMaxBytes)
    throw Napi::RangeError::New(env, "Storage: " + std::to_string(bytes_) + " bytes is more than the 1 TiB limit");
  const bool zero = info.Length() > 2 && info[2].ToBoolean().Value();
  // 64-byte alignment for full-width vector loads; never a zero-size request.
  const size_t alloc = size_t((bytes_ + 63) / 64 * 64 + 64);
  data_ = std::aligned_alloc(64, alloc);
  if (!data_)
    throw Napi::Error::New(env, "out of memory: could not allocate " + std::to_string(bytes_) + " bytes for a tensor");
  if (zero) std::memset(data_, 0, size_t(bytes_));
  live_storages_++;
  live_bytes_ += bytes_;
  Napi::MemoryManagement::AdjustExternalMemory(env, bytes_);
}

void Storage::release(Napi::Env env) {
  if (freed_) return;
  freed_ = true;
  std::free(data_);
  data_ = nullptr;
  live_storages_--;
  live_bytes_ -= bytes_;
  if (env) Napi::MemoryManagement::AdjustExternalMemory(env, -bytes_);
}

void Storage::Finalize(Napi::Env env) { release(env); }

Storage::~Storage() {
  if (!freed_) {  // Finalize normally ran first; this only covers environment teardown.
    freed_ = true;
    std::free(data_);
    data_ = nullptr;
    live_storages_--;
    live_bytes_ -= bytes_;
  }
}

Napi::Value Storage::Free(const Napi::CallbackInfo& info) {
  release(info.Env());
  return info.Env().Undefined();
}
Napi::Value Storage::GetNumel(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), double(numel_)); }
Napi::Value Storage::GetDType(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), dtype_); }
Napi::Value Storage::GetFreed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), freed_); }

}  // namespace tf
