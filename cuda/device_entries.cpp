// The CUDA addons' own entry points, beside the shared ones of native/binding.cpp:
//   status() -> { available, reason, deviceCount, name, totalMemory, computeCapability, emulated }
//   synchronize()                 waits for every queued kernel (and surfaces its error)
//   setAllowTF32(flag), allowTF32()   float32 matmul on tensor cores with TF32 inputs (off by default)
//   emuSetSchedule(name, seed)    emulator only: in-order | reversed | random | warp-ahead
//   emuSelfTest(name) -> number   emulator only: runs one of cuda/emu/selftest.cu's kernels
#include <napi.h>

#include <string>

#include "../native/storage.h"
#include "device.h"

namespace tf {

#ifdef TF_CUDA_EMULATE
namespace cuda {
double emu_self_test(const std::string& name, std::string* error);
}
#endif

namespace {

Napi::Value Status(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  cudaGetLastError();
  const bool available = e == cudaSuccess && count > 0;
  o.Set("available", available);
  o.Set("deviceCount", available ? count : 0);
  if (!available) {
    o.Set("reason", e != cudaSuccess ? std::string(cudaGetErrorName(e)) + ": " + cudaGetErrorString(e)
                                     : std::string("no CUDA device found"));
  }
#ifdef TF_CUDA_EMULATE
  o.Set("emulated", true);
#else
  o.Set("emulated", false);
#endif
  if (available) {
    cudaDeviceProp p;
    if (cudaGetDeviceProperties(&p, 0) == cudaSuccess) {
      o.Set("name", std::string(p.name));
      o.Set("totalMemory", double(p.totalGlobalMem));
      o.Set("computeCapability", std::to_string(p.major) + "." + std::to_string(p.minor));
      o.Set("multiProcessorCount", p.multiProcessorCount);
    }
    cudaGetLastError();
  }
  return o;
}

Napi::Value Synchronize(const Napi::CallbackInfo& info) {
  cuda::check_call(cudaStreamSynchronize(cuda::device_stream()), "cuda.synchronize");
  std::string msg;
  if (take_device_error(&msg)) throw Napi::Error::New(info.Env(), msg);
  return info.Env().Undefined();
}

Napi::Value SetAllowTF32(const Napi::CallbackInfo& info) {
  cuda::set_allow_tf32(info[0].ToBoolean().Value());
  return info.Env().Undefined();
}
Napi::Value AllowTF32(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), cuda::allow_tf32()); }

#ifdef TF_CUDA_EMULATE
Napi::Value EmuSetSchedule(const Napi::CallbackInfo& info) {
  const std::string name = info[0].ToString().Utf8Value();
  const double seed = info[1].IsNumber() ? info[1].ToNumber().DoubleValue() : 1;
  tf_emu::Schedule s;
  if (name == "in-order") s = tf_emu::Schedule::InOrder;
  else if (name == "reversed") s = tf_emu::Schedule::Reversed;
  else if (name == "random") s = tf_emu::Schedule::Random;
  else if (name == "warp-ahead") s = tf_emu::Schedule::WarpAhead;
  else
    throw Napi::Error::New(info.Env(), "emuSetSchedule: unknown schedule '" + name +
                                           "' (in-order, reversed, random, warp-ahead)");
  tf_emu::set_schedule(s, uint64_t(seed));
  return info.Env().Undefined();
}

Napi::Value EmuSelfTest(const Napi::CallbackInfo& info) {
  std::string error;
  const double r = cuda::emu_self_test(info[0].ToString().Utf8Value(), &error);
  if (!error.empty()) throw Napi::Error::New(info.Env(), error);
  return Napi::Number::New(info.Env(), r);
}
#endif

}  // namespace

void add_device_entries(Napi::Env env, Napi::Object exports) {
  exports.Set("status", Napi::Function::New(env, Status, "status"));
  exports.Set("synchronize", Napi::Function::New(env, Synchronize, "synchronize"));
  exports.Set("setAllowTF32", Napi::Function::New(env, SetAllowTF32, "setAllowTF32"));
  exports.Set("allowTF32", Napi::Function::New(env, AllowTF32, "allowTF32"));
#ifdef TF_CUDA_EMULATE
  exports.Set("emuSetSchedule", Napi::Function::New(env, EmuSetSchedule, "emuSetSchedule"));
  exports.Set("emuSelfTest", Napi::Function::New(env, EmuSelfTest, "emuSelfTest"));
#endif
}

}  // namespace tf
