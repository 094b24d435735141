// The N-API surface of the addon. Each entry point decodes its tensors, checks everything a kernel
// relies on (dtypes, shapes, that every reachable element lies inside its storage, index bounds),
// then calls the kernel. lib/ validates first and words the user-facing errors; these checks are the
// second line, so no call from JS can make a kernel touch memory it does not own.
//
// Tensor arguments travel as descriptors in the shared metadata buffer (a Float64Array registered
// once by setMeta), so a call passes no JS objects at all:
//   descriptor = [storage handle, offset, ndim, shape[0..ndim), strides[0..ndim)]   (elements)
// followed by the op's scalar parameters. Storage handles are checked in storage.cpp.
//
// This file is compiled into every addon: the CPU one, and (with TF_DEVICE_CUDA) the CUDA ones, whose
// storages are device memory and whose kernel table (cuda/kernel_table.cpp) launches CUDA kernels.
// What the binding reads of a tensor itself (index bounds, class targets) then comes through a host
// copy (host_span), and an entry point whose kernel the device lacks is not exported at all.
#include <napi.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "kernels.h"
#include "kernels/half.h"
#include "parallel.h"
#include "storage.h"
#include "scalar_operand.h"
#include "tensor_view.h"

namespace tf {
#ifdef TF_DEVICE_CUDA
// The device's own entry points (availability, synchronize, memory; cuda/device_entries.cpp).
void add_device_entries(Napi::Env env, Napi::Object exports);
#endif
namespace {

double* g_meta = nullptr;
size_t g_meta_len = 0;
Napi::Reference<Napi::Float64Array>* g_meta_ref = nullptr;

[[noreturn]] void fail(Napi::Env env, const std::string& op, const std::string& msg) {
  throw Napi::Error::New(env, op + ": " + msg);
}

std::string shape_str(const TensorView& v) {
  std::string s = "[";
  for (int d = 0; d < v.ndim; ++d) s += (d ? ", " : "") + std::to_string(v.shape[d]);
  return s + "]";
}

const char* dtype_name(int32_t d) {
  switch (d) {
    case kFloat32: return "float32";
    case kFloat64: return "float64";
    case kInt32: return "int32";
    case kBool: return "bool";
    case kFloat16: return "float16";
    case kBFloat16: return "bfloat16";
    default: return "unknown";
  }
}

// Reads metadata in order, failing cleanly past the end of the buffer.
// `takes_half`: the entry's kernels take float16/bfloat16 tensors; every other entry refuses them
// before any kernel runs (a kernel's dtype switch would otherwise skip them silently).
struct Meta {
  Meta(Napi::Env e, const char* name, bool takes_half = false);
  Napi::Env env;
  const char* op;
  bool takes_half;
  size_t pos = 0;
  double next() {
    if (!g_meta || pos >= g_meta_len) fail(env, op, "metadata buffer overrun");
    return g_meta[pos++];
  }
  int64_t next_int() {
    double v = next();
    if (!(v >= -9007199254740992.0 && v <= 9007199254740992.0) || v != std::floor(v))
      fail(env, op, "non-integer metadata value");
    return int64_t(v);
  }
};

// Decodes one tensor and proves that every element it can address lies inside its storage.
// A number operand (x + 2) travels as a scalar descriptor instead of a 0-d tensor:
//   [-1, value, dtype, ndim, shape[0..ndim), strides (all 0)]
// Its value lives in one of these per-call slots, so a scalar op allocates nothing.
union ScalarSlot {
  float f;
  double d;
  int32_t i;
  uint16_t h;  // float16 / bfloat16 bits
  uint8_t b;
};
thread_local ScalarSlot g_scalar_slots[4];
thread_local int g_scalar_used = 0;

Meta::Meta(Napi::Env e, const char* name, bool half) : env(e), op(name), takes_half(half) { g_scalar_used = 0; }

void want_dtype_supported(Napi::Env env, const Meta& m, int32_t dtype) {
  if (is_half_dtype(dtype) && !m.takes_half)
    fail(env, m.op, std::string("no ") + dtype_name(dtype) + " kernel (compute in float32: .float())");
}

TensorView scalar_view(Napi::Env env, Meta& m) {
  if (g_scalar_used >= 4) fail(env, m.op, "too many scalar operands");
  ScalarSlot& slot = g_scalar_slots[g_scalar_used++];
  const double value = m.next();
  const int64_t dtype = m.next_int();
  const int64_t ndim = m.next_int();
  if (dtype < 0 || dtype >= kNumDTypes) fail(env, m.op, "bad scalar dtype");
  want_dtype_supported(env, m, int32_t(dtype));
  if (ndim < 0 || ndim > kMaxDims) fail(env, m.op, "tensors may have at most 16 dims, got " + std::to_string(ndim));
  TensorView v{};
  v.ndim = int32_t(ndim);
  v.dtype = int32_t(dtype);
  for (int d = 0; d < v.ndim; ++d) {
    v.shape[d] = m.next_int();
    if (v.shape[d] < 0) fail(env, m.op, "negative dimension");
  }
  for (int d = 0; d < v.ndim; ++d)
    if (m.next_int() != 0) fail(env, m.op, "a scalar operand must have stride 0 in every dim");
  switch (v.dtype) {
    case kFloat32: slot.f = float(value); break;
    case kFloat64: slot.d = value; break;
    case kInt32: slot.i = (value >= -2147483648.0 && value < 2147483648.0) ? int32_t(value) : 0; break;
    case kFloat16: slot.h = float_to_f16_bits(float(value)); break;
    case kBFloat16: slot.h = float_to_bf16_bits(float(value)); break;
    default: slot.b = value != 0; break;
  }
  v.data = &slot;
  return v;
}

TensorView view(Napi::Env env, Meta& m) {
  const double handle = m.next();
  if (handle == -1) return scalar_view(env, m);
  StorageInfo s;
  if (!storage_lookup(handle, &s)) fail(env, m.op, "tensor storage was already freed (the tensor was disposed)");
  want_dtype_supported(env, m, s.dtype);
  TensorView v{};
  const int64_t offset = m.next_int();
  const int64_t ndim = m.next_int();
  if (ndim < 0 || ndim > kMaxDims) fail(env, m.op, "tensors may have at most 16 dims, got " + std::to_string(ndim));
  v.ndim = int32_t(ndim);
  v.dtype = s.dtype;
  for (int d = 0; d < v.ndim; ++d) v.shape[d] = m.next_int();
  for (int d = 0; d < v.ndim; ++d) v.strides[d] = m.next_int();
  bool empty = false;
  int64_t last = offset;  // highest element offset reached
  if (offset < 0) fail(env, m.op, "negative storage offset");
  for (int d = 0; d < v.ndim; ++d) {
    if (v.shape[d] < 0) fail(env, m.op, "negative dimension in shape " + shape_str(v));
    if (v.strides[d] < 0) fail(env, m.op, "negative stride");
    if (v.shape[d] == 0) empty = true;
  }
  if (!empty) {
    for (int d = 0; d < v.ndim; ++d) {
      // (shape-1)*stride fits: shape < 2^53 and stride < 2^53 are checked as doubles, so bound it.
      if (v.strides[d] > 0 && v.shape[d] - 1 > (INT64_MAX / 4 - last) / v.strides[d])
        fail(env, m.op, "tensor extent overflows");
      last += (v.shape[d] - 1) * v.strides[d];
    }
    if (last >= s.numel)
      fail(env, m.op, "view " + shape_str(v) + " at offset " + std::to_string(offset) +
                          " reaches past the end of its storage (" + std::to_string(s.numel) + " elements)");
  }
  v.data = static_cast<char*>(s.data) + offset * dtype_size(v.dtype);
  return v;
}

// The elements of a (non-negative-strided) view as host memory the binding can read: the view's own
// memory on the CPU, a copy of the span it reaches on a device. Element offsets are unchanged.
template <class T>
const T* host_span(const TensorView& v, std::vector<char>& buf) {
#ifdef TF_DEVICE_CUDA
  int64_t last = 0;
  for (int d = 0; d < v.ndim; ++d) {
    if (v.shape[d] == 0) return nullptr;
    last += (v.shape[d] - 1) * v.strides[d];
  }
  buf.resize(size_t(last + 1) * sizeof(T));
  copy_to_host(buf.data(), v.data, buf.size());
  return reinterpret_cast<const T*>(buf.data());
#else
  (void)buf;
  return v.ptr<T>();
#endif
}

void same_shape(Napi::Env env, const char* op, const TensorView& a, const TensorView& b) {
  bool ok = a.ndim == b.ndim;
  for (int d = 0; ok && d < a.ndim; ++d) ok = a.shape[d] == b.shape[d];
  if (!ok) fail(env, op, "shapes " + shape_str(a) + " and " + shape_str(b) + " differ");
}
void want_dtype(Napi::Env env, const char* op, const TensorView& v, int32_t dtype) {
  if (v.dtype != dtype)
    fail(env, op, std::string("expected ") + dtype_name(dtype) + ", got " + dtype_name(v.dtype));
}
void want_float(Napi::Env env, const char* op, const TensorView& v) {
  if (v.dtype != kFloat32 && v.dtype != kFloat64 && !is_half_dtype(v.dtype))
    fail(env, op, std::string("expected a floating-point tensor, got ") + dtype_name(v.dtype));
}
// The kernels that compute float32/float64 only (the lib widens 16-bit inputs before calling them).
void want_float32_or_64(Napi::Env env, const char* op, const TensorView& v) {
  if (v.dtype != kFloat32 && v.dtype != kFloat64)
    fail(env, op, std::string("expected float32 or float64 (16-bit inputs go through float32), got ") + dtype_name(v.dtype));
}
// Output tensors must not overlap themselves (a stride-0 dim would make two threads write one place);
// an empty one has nothing to overlap, whatever its strides.
void want_writable(Napi::Env env, const char* op, const TensorView& v) {
  if (v.numel() == 0) return;
  for (int d = 0; d < v.ndim; ++d)
    if (v.strides[d] == 0 && v.shape[d] > 1) fail(env, op, "output has a broadcast (stride 0) dim");
}
template <class E> E want_enum(Napi::Env env, const char* op, Napi::Value v) {
  if (!v.IsNumber()) fail(env, op, "expected an op code");
  int32_t code = v.As<Napi::Number>().Int32Value();
  if (code < 0 || code >= int32_t(E::Count)) fail(env, op, "unknown op code " + std::to_string(code));
  return E(code);
}
void check_index(Napi::Env env, const char* op, const TensorView& index, int64_t size) {
  want_dtype(env, op, index, kInt32);
  // Walk every element (index tensors are small next to the data they address).
  std::vector<char> buf;
  const int32_t* data = host_span<int32_t>(index, buf);
  int64_t n = index.numel(), idx[kMaxDims] = {0};
  for (int64_t t = 0; t < n; ++t) {
    int64_t off = 0;
    for (int d = 0; d < index.ndim; ++d) off += idx[d] * index.strides[d];
    const int32_t v = data[off];
    if (v < 0 || v >= size)
      fail(env, op, "index " + std::to_string(v) + " is out of bounds for dimension of size " + std::to_string(size));
    for (int d = index.ndim - 1; d >= 0; --d) {
      if (++idx[d] < index.shape[d]) break;
      idx[d] = 0;
    }
  }
}

// ---- entry points ---------------------------------------------------------------------------------

Napi::Value SetMeta(const Napi::CallbackInfo& info) {
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
    throw Napi::TypeError::New(info.Env(), "setMeta: expected a Float64Array");
  auto arr = info[0].As<Napi::Float64Array>();
  delete g_meta_ref;
  g_meta_ref = new Napi::Reference<Napi::Float64Array>(Napi::Persistent(arr));
  g_meta = arr.Data();
  g_meta_len = arr.ElementLength();
  return info.Env().Undefined();
}

// unary(op, out, x) meta: out, x, p0, p1
Napi::Value Unary(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Meta m{env, "unary", true};
  UnaryOp op = want_enum<UnaryOp>(env, m.op, info[0]);
  TensorView out = view(env, m), x = view(env, m);
  double p[2] = {m.next(), m.next()};
  same_shape(env, m.op, out, x);
  want_writable(env, m.op, out);
  want_dtype(env, m.op, out, op == UnaryOp::LogicalNot ? int32_t(kBool) : x.dtype);
  kernels().unary(op, out, x, p);
  return env.Undefined();
}

// unaryBackward(op, dx, g, x, y) meta: dx, g, x, y, p0, p1
Napi::Value UnaryBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Meta m{env, "unaryBackward", true};
  UnaryOp op = want_enum<UnaryOp>(env, m.op, info[0]);
  TensorView dx = view(env, m), g = view(env, m), x = view(env, m),
             y = view(env, m);
  double p[2] = {m.next(), m.next()};
  want_float(env, m.op, dx);
  for (const TensorView* t : {&g, &x, &y}) {
    same_shape(env, m.op, dx, *t);
    want_dtype(env, m.op, *t, dx.dtype);
  }
  want_writable(env, m.op, dx);
  kernels().unary_backward(op, dx, g, x, y, p);
  return env.Undefined();
}

bool is_comparison(BinaryOp op) {
  return op == BinaryOp::Eq || op == BinaryOp::Ne || op == BinaryOp::Lt || op == BinaryOp::Le || op == BinaryOp::Gt ||
         op == BinaryOp::Ge || op == BinaryOp::LogicalAnd || op == BinaryOp::LogicalOr;
}

// binary(op, out, a, b) meta: out, a, b
Napi::Value Binary(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Meta m{env, "binary", true};
  BinaryOp op = want_enum<BinaryOp>(env, m.op, info[0]);
  TensorView out = view(env, m), a = view(env, m), b = view(env, m);
  same_shape(env, m.op, out, a);
  same_shape(env, m.op, out, b);
  want_dtype(env, m.op, b, a.dtype);
  want_dtype(env, m.op, out, is_comparison(op) ? int32_t(kBool) : a.dtype);
  want_writable(env, m.op, out);
  kernels().binary(op, out, a, b);
  return env.Undefined();
}

// where(out, cond, a, b) meta: out, cond, a, b
Napi::Value Where(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Meta m{env, "where", true};
  TensorView out = view(env, m), c = view(env, m), a = view(env, m),
             b = view(env, m);
  for (const TensorView* t : {&c, &a, &b}) same_shape(env, m.op, out, *t);
  want_dtype(env, m.op, c, kBool);
  want_dtype(env, m.op, a, out.dtype);
  want_dtype(env, m.op, b, out.dtype);
  want_writable(env, m.op, out);
  kernels().where(out, c, a, b);
  return env.Undefined();
}

// copy(out, x) meta: out, x
Napi::Value Copy(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Meta m{env, "copy", true};
  TensorView out = view(env, m), x = view(env, m);
  same_shape(env, m.op, out, x);
  want_writable(env, m.op, out);
  kernels().copy(out, x);
  return env.Undefined();
}

// fill(out) meta: out, value
Napi::Value Fill(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Meta m{env, "fill", true};
  TensorView out = view(env, m);
  const double value = m.next();
  want_writable(env, m.op, out);
  kernels().fill(out, value);
  return env.Undefined();
}

// reduce(op, out, x) meta: out, x, nreduce, correction
Napi::Value Reduce(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Meta m{env, "reduce"};
  ReduceOp op = want_enum<ReduceOp>(env, m.op, info[0]);
  TensorView out = view(env, m), x = view(env, m);
  const int64_t nreduce = m.next_int();
  const double correction = m.next();
  if (nreduce < 0 || nreduce > x.ndim) fail(env, m.op, "bad number of reduced dims");
  const int nout = x.ndim - int(nreduce);
  bool ok = out.ndim == nout && out.is_contiguous();
  for (int d = 0; ok && d < nout; ++d) ok = out.shape[d] == x.shape[d];
  if (!ok) fail(env, m.op, "output " + shape_str(out) + " does not match input " + shape_str(x));
  int64_t inner = 1;
  for (int d = nout; d < x.ndim; ++d) inner *= x.shape[d];
  const bool extreme = op == ReduceOp::Max || op == ReduceOp::Min || op == ReduceOp::ArgMax || op == ReduceOp::ArgMin;
  if (extreme && inner == 0 && out.numel() > 0) fail(env, m.op, "cannot take max/min/argmax/argmin of an empty dim");
  const int32_t want = (op == ReduceOp::ArgMax || op == ReduceOp::ArgMin) ? int32_t(kInt32)
                       : (op == ReduceOp::Any || op == ReduceOp::All) ? int32_t(kBool)
                                                                      : x.dtype;
  want_dtype(env, m.op, out, want);
  kernels().reduce(op, out, x, int(nreduce), correction);
  return env.Undefined();
}

void want_contiguous(Napi::Env env, const char* op, const TensorView& v) {
  if (!v.is_contiguous()) fail(env, op, "expected a contiguous tensor");
}

// softmax(log, out, x) meta: out, x, outer, n, inner
Napi::Value Softmax(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Meta m{env, "softmax"};
  const bool log = info[0].ToBoolean().Value();
  TensorView out = view(env, m), x = view(env, m);
  const int64_t outer = m.next_int(), n = m.next_int(), inner = m.next_int();
  same_shape(env, m.op, out, x);
  want_float(env, m.op, x);
  want_dtype(env, m.op, out, x.dtype);
  want_contiguous(env, m.op, out);
  want_contiguous(env, m.op, x);
  if (outer < 0 || n < 0 || inner < 0 || outer * n * inner != x.numel()) fail(env, m.op, "bad [outer, n, inner] split");
  kernels().softmax(log, out.data, x.data, x.dtype, outer, n, inner);
  return env.Undefined();
}

// softmaxBackward(log, dx, g, y) meta: dx, g, y, outer, n, inner
Napi::Value SoftmaxBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Meta m{env, "softmaxBackward"};
  const bool log = info[0].ToBoolean().Value();
  TensorView dx = view(env, m), g = view(env, m), y = view(env, m);
  const int64_t outer = m.next_int(), n = m.next_int(), inner = m.next_int();
  want_float(env, m.op, dx);
  for (const TensorView* t : {&dx, &g, &y}) {
    same_shape(env, m.op, dx, *t);
    want_dtype(env, m.op, *t, dx.dtype);
    want_contiguous(env, m.op, *t);
  }
  if (outer < 0 || n < 0 || inner < 0 || outer * n * inner != dx.numel()) fail(env, m.op, "bad [outer, n, inner] split");
  kernels().softmax_backward(log, dx.data, g.data, y.data, dx.dtype, outer, n, inner);
  return env.Undefined();
}

// The shared checks of gemm and gemmEpilogue: float operands of one dtype, equal rank >= 2, batch
// dims that agree, and [.., M, K] @ [.., K, N] -> [.., M, N].
void check_gemm(Napi::Env env, const char* op, const TensorView& c, const TensorView& a, const TensorView& b) {
  want_float(env, op, c);
  want_dtype(env, op, a, c.dtype);
  want_dtype(env, op, b, c.dtype);
  if (c.ndim < 2 || a.ndim != c.ndim || b.ndim != c.ndim) fail(env, op, "expected equal-rank operands of rank >= 2");
  const int nb = c.ndim - 2;
  for (int d = 0; d < nb; ++d)
    if (a.shape[d] != c.shape[d] || b.shape[d] != c.shape[d]) fail(env, op, "batch dims differ");
  if (a.shape[nb] != c.shape[nb] || b.shape[nb + 1] != c.shape[nb + 1] || a.shape[nb + 1] != b.shape[nb])
    fail(env, op, "shapes " + shape_str(a) + " @ " + shape_str(b) + " -> " + shape_str(c) + " do not agree");
  // A stride-0 batch dim of C asks for the sum over that dim (batch-reduce GEMM); rows and columns
  // of C must be distinct elements (an empty C has none).
  for (int d = nb; d < c.ndim && c.numel() > 0; ++d)
    if (c.strides[d] == 0 && c.shape[d] > 1) fail(env, op, "output has a broadcast (stride 0) row or column dim");
}

// gemm(c, a, b) meta: c, a, b, alpha, beta
Napi::Value Gemm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Meta m{env, "matmul", true};
  TensorView c = view(env, m), a = view(env, m), b = view(env, m);
  const double alpha = m.next(), beta = m.next();
  check_gemm(env, m.op, c, a, b);
  kernels().gemm(c, a, b, alpha, beta);
  return env.Undefined();
}

// gemmEpilogue(c, a, b) meta: c, a, b, alpha, beta, hasBias, [bias], biasDim, activation.
// C = act(alpha * A @ B + beta * C + bias): bias is 1-D along C's columns (biasDim 0: one per
// column, a linear layer's) or rows (biasDim 1), shared by every batch entry. No batch-reduce.
Napi::Value GemmEpilogueEntry(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Meta m{env, "linear", true};
  TensorView c = view(env, m), a = view(env, m), b = view(env, m);
  const double alpha = m.next(), beta = m.next();
  const bool has_bias = m.next() != 0;
  TensorView bias{};
  if (has_bias) bias = view(env, m);
  const int64_t bias_dim = m.next_int();
  const int64_t act = m.next_int();
  check_gemm(env, m.op, c, a, b);
  const int nb = c.ndim - 2;
  for (int d = 0; d < nb; ++d)
    if (c.strides[d] == 0 && c.shape[d] > 1) fail(env, m.op, "the epilogue takes no batch-reduce output");
  if (act < 0 || act >= int64_t(Activation::Count)) fail(env, m.op, "unknown activation " + std::to_string(act));
  if (bias_dim != 0 && bias_dim != 1) fail(env, m.op, "bias dim must be 0 (columns) or 1 (rows)");
  GemmEpilogue ep{nullptr, 0, 0, Activation(act)};
  if (has_bias) {
    want_dtype(env, m.op, bias, c.dtype);
    const int64_t want = bias_dim == 0 ? c.shape[nb + 1] : c.shape[nb];
    if (bias.ndim != 1 || bias.shape[0] != want)
      fail(env, m.op, "bias " + shape_str(bias) + " must be [" + std::to_string(want) + "] for output " + shape_str(c));
    ep.bias = bias.data;
    (bias_dim == 0 ? ep.bias_sn : ep.bias_sm) = bias.strides[0];
  }
  kernels().gemm_epilogue(c, a, b, alpha, beta, ep);
  return env.Undefined();
}

int64_t want_dim(Napi::Env env, Meta& m, int ndim) {
  int64_t dim = m.next_int();
  if (dim < 0 || dim >= ndim) fail(env, m.op, "dim " + std::to_string(dim) + " out of range");
  return dim;
}

// indexSelect(out, x, index) meta: out, x, index, dim
Napi::Value IndexSelect(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Meta m{env, "indexSelect"};
  TensorView out = view(env, m), x = view(env, m), index = view(env, m);
  const int dim = int(want_dim(env, m, x.ndim));
  if (index.ndim != 1 || out.ndim != x.ndim || out.shape[dim] != index.shape[0]) fail(env, m.op, "bad index shape");
  for (int d = 0; d < x.ndim; ++d)
    if (d != dim && out.shape[d] != x.shape[d]) fail(env, m.op, "output shape mismatch");
  want_dtype(env, m.op, out, x.dtype);
  want_writable(env, m.op, out);
  check_index(env, m.op, index, x.shape[dim]);
  kernels().index_select(out, x, dim, index);
  return env.Undefined();
}

// indexAdd(out, index, src) meta: out, index, src, dim, alpha   (out modified in place)
Napi::Value IndexAdd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Meta m{env, "indexAdd"};
  TensorView out = view(env, m), index = view(env, m), src = view(env, m);
  const int dim = int(want_dim(env, m, out.ndim));
  const double alpha = m.next();
  if (index.ndim != 1 || src.ndim != out.ndim || src.shape[dim] != index.shape[0]) fail(env, m.op, "bad index shape");
  for (int d = 0; d < out.ndim; ++d)
    if (d != dim && out.shape[d] != src.shape[d]) fail(env, m.op, "source shape mismatch");
  want_dtype(env, m.op, src, out.dtype);
  want_writable(env, m.op, out);
  check_index(env, m.op, index, out.shape[dim]);
  kernels().index_add(out, dim, index, src, alpha);
  return env.Undefined();
}

// gather and scatterAdd address `base` (the gathered input, or the scatter target) along `dim` with
// `index`, whose other dims may not exceed base's; `other` (the output, or the source) is
// base's dtype. `written` (out for gather, base for scatterAdd) must be writable.
void check_gather_like(Napi::Env env, const char* op, const TensorView& base, const TensorView& index,
                       const TensorView& other, int dim, const TensorView& written) {
  if (index.ndim != base.ndim) fail(env, op, "index and input must have the same number of dims");
  for (int d = 0; d < base.ndim; ++d)
    if (d != dim && index.shape[d] > base.shape[d]) fail(env, op, "index is larger than the input outside dim");
  want_dtype(env, op, other, base.dtype);
  want_writable(env, op, written);
  check_index(env, op, index, base.shape[dim]);
}

// gather(out, x, index) meta: out, x, index, dim
Napi::Value Gather(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Meta m{env, "gather"};
  TensorView out = view(env, m), x = view(env, m), index = view(env, m);
  const int dim = int(want_dim(env, m, x.ndim));
  same_shape(env, m.op, out, index);
  check_gather_like(env, m.op, x, index, out, dim, out);
  kernels().gather(out, x, dim, index);
  return env.Undefined();
}

// scatterAdd(out, index, src) meta: out, index, src, dim   (out modified in place)
Napi::Value ScatterAdd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Meta m{env, "scatterAdd"};
  TensorView out = view(env, m), index = view(env, m), src = view(env, m);
  const int dim = int(want_dim(env, m, out.ndim));
  same_shape(env, m.op, index, src);
  check_gather_like(env, m.op, out, index, src, dim, out);
  kernels().scatter_add(out, dim, index, src);
  return env.Undefined();
}

// ---- convolution and pooling ----------------------------------------------------------------------
// Tensors travel with 2 + ns dims ([N, C, spatial...], ns = 1..3) and reach the kernels widened to
// [N, C, D, H, W] (unit leading spatial dims). Window parameters follow the tensors, one value per
// spatial dim each; the binding computes the output sizes itself and checks the tensors against them.

constexpr int64_t kMaxWindowParam = 2147483647;

int read_ns(Napi::Env env, Meta& m) {
  const int64_t ns = m.next_int();
  if (ns < 1 || ns > 3) fail(env, m.op, "expected 1 to 3 spatial dims, got " + std::to_string(ns));
  return int(ns);
}

// Reads ns values into dst[3 - ns .. 3) (leading entries get `unit`), each in [lo, kMaxWindowParam].
void read_window(Napi::Env env, Meta& m, int ns, int64_t dst[3], int64_t unit, int64_t lo, const char* what) {
  for (int i = 0; i < 3 - ns; ++i) dst[i] = unit;
  for (int i = 3 - ns; i < 3; ++i) {
    dst[i] = m.next_int();
    if (dst[i] < lo || dst[i] > kMaxWindowParam)
      fail(env, m.op, std::string(what) + " must be in [" + std::to_string(lo) + ", " +
                          std::to_string(kMaxWindowParam) + "], got " + std::to_string(dst[i]));
  }
}

TensorView widen5(Napi::Env env, const char* op, const TensorView& v, int ns, const char* what) {
  if (v.ndim != 2 + ns)
    fail(env, op, std::string(what) + " must have " + std::to_string(2 + ns) + " dims, got " + shape_str(v));
  TensorView w = v;
  w.ndim = 5;
  for (int i = 0; i < 3; ++i) {
    const int src = 2 + i - (3 - ns);
    w.shape[2 + i] = src >= 2 ? v.shape[src] : 1;
    w.strides[2 + i] = src >= 2 ? v.strides[src] : 0;
  }
  return w;
}

// Checks that `v` (5-D) is [N, C, sizes...] for the given N, C and spatial sizes.
void want_spatial(Napi::Env env, const char* op, const TensorView& v, int64_t n, int64_t c, const int64_t sizes[3],
                  const char* what) {
  bool ok = v.shape[0] == n && v.shape[1] == c;
  for (int i = 0; ok && i < 3; ++i) ok = v.shape[2 + i] == sizes[i];
  if (!ok)
    fail(env, op, std::string(what) + " has shape " + shape_str(v) + ", expected [" + std::to_string(n) + ", " +
                      std::to_string(c) + ", " + std::to_string(sizes[0]) + ", " + std::to_string(sizes[1]) + ", " +
                      std::to_string(sizes[2]) + "] (as 5-D)");
}

int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// Kernels index with int64 products of window and output sizes: keep those products far from overflow.
void check_extent(Napi::Env env, Meta& m, const SpatialGeom& g) {
  double window = 1, out = 1;
  for (int i = 0; i < 3; ++i) {
    window *= double(g.kernel[i]);
    out *= double(g.out[i]);
  }
  if (window > 1099511627776.0 || out * window > 4503599627370496.0)
    fail(env, m.op, "the pooling or convolution window is too large");
}

// Convolution geometry: kernel, stride, padding before, padding after, dilation (meta order);
// g.in comes from `x` (5-D). Output sizes as PyTorch's (floor), failing when the kernel does not fit.
SpatialGeom read_conv_geom(Napi::Env env, Meta& m, int ns, const TensorView& x) {
  SpatialGeom g{};
  int64_t pad_after[3];
  read_window(env, m, ns, g.kernel, 1, 1, "kernel size");
  read_window(env, m, ns, g.stride, 1, 1, "stride");
  read_window(env, m, ns, g.pad, 0, 0, "padding");
  read_window(env, m, ns, pad_after, 0, 0, "padding");
  read_window(env, m, ns, g.dilation, 1, 1, "dilation");
  for (int i = 0; i < 3; ++i) {
    g.in[i] = x.shape[2 + i];
    const int64_t span = g.in[i] + g.pad[i] + pad_after[i] - g.dilation[i] * (g.kernel[i] - 1) - 1;
    if (span < 0) fail(env, m.op, "the kernel is larger than the padded input " + shape_str(x));
    g.out[i] = span / g.stride[i] + 1;
  }
  check_extent(env, m, g);
  return g;
}

// Pooling geometry (symmetric padding, PyTorch's ceil_mode rule). Dilation is read when `dilated`.
SpatialGeom read_pool_geom(Napi::Env env, Meta& m, int ns, const TensorView& x, bool dilated, bool* ceil_mode) {
  SpatialGeom g{};
  read_window(env, m, ns, g.kernel, 1, 1, "kernel size");
  read_window(env, m, ns, g.stride, 1, 1, "stride");
  read_window(env, m, ns, g.pad, 0, 0, "padding");
  if (dilated) read_window(env, m, ns, g.dilation, 1, 1, "dilation");
  else for (int i = 0; i < 3; ++i) g.dilation[i] = 1;
  *ceil_mode = m.next() != 0;
  for (int i = 0; i < 3; ++i) {
    g.in[i] = x.shape[2 + i];
    if (g.pad[i] > g.kernel[i] / 2) fail(env, m.op, "padding should be at most half of the kernel size");
    int64_t out = floor_div(g.in[i] + 2 * g.pad[i] - g.dilation[i] * (g.kernel[i] - 1) - 1 +
                                (*ceil_mode ? g.stride[i] - 1 : 0),
                            g.stride[i]) + 1;
    if (*ceil_mode && (out - 1) * g.stride[i] >= g.in[i] + g.pad[i]) --out;
    if (out < 1 || g.in[i] < 1) fail(env, m.op, "input " + shape_str(x) + " is too small for the pooling window");
    g.out[i] = out;
  }
  check_extent(env, m, g);
  return g;
}

// Columns may be laid out with any strides but the last, which must be 1 (the kernels copy rows).
void want_unit_last_stride(Napi::Env env, const char* op, const TensorView& v, const char* what) {
  if (v.ndim > 0 && v.shape[v.ndim - 1] > 1 && v.strides[v.ndim - 1] != 1)
    fail(env, op, std::string(what) + " " + shape_str(v) + " need a unit stride on the last dim");
}

// im2col(cols, x) meta: cols, x, ns, kernel[ns], stride[ns], padBefore[ns], padAfter[ns], dilation[ns]
// cols is [N, C*prod(kernel), prod(out)], with a unit last stride (conv folds images into columns through the others).
Napi::Value Im2col(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Meta m{env, "im2col"};
  TensorView cols = view(env, m), x0 = view(env, m);
  const int ns = read_ns(env, m);
  const TensorView x = widen5(env, m.op, x0, ns, "input");
  const SpatialGeom g = read_conv_geom(env, m, ns, x);
  want_float(env, m.op, x);
  want_dtype(env, m.op, cols, x.dtype);
  want_writable(env, m.op, cols);
  want_unit_last_stride(env, m.op, cols, "columns");
  const int64_t K = g.kernel[0] * g.kernel[1] * g.kernel[2], L = g.out[0] * g.out[1] * g.out[2];
  if (cols.ndim != 3 || cols.shape[0] != x.shape[0] || double(cols.shape[1]) != double(x.shape[1]) * double(K) || cols.shape[2] != L)
    fail(env, m.op, "columns " + shape_str(cols) + " do not match input " + shape_str(x0));
  if (cols.numel() > 0) kernels().im2col(cols, x, g);
  return env.Undefined();
}

// col2im(dx, cols) meta: dx, cols, then as im2col. dx (contiguous) += the adjoint of im2col.
Napi::Value Col2im(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Meta m{env, "col2im"};
  TensorView dx0 = view(env, m), cols = view(env, m);
  const int ns = read_ns(env, m);
  const TensorView dx = widen5(env, m.op, dx0, ns, "input gradient");
  const SpatialGeom g = read_conv_geom(env, m, ns, dx);
  want_float(env, m.op, dx);
  want_dtype(env, m.op, cols, dx.dtype);
  want_unit_last_stride(env, m.op, cols, "columns");
  want_contiguous(env, m.op, dx);
  const int64_t K = g.kernel[0] * g.kernel[1] * g.kernel[2], L = g.out[0] * g.out[1] * g.out[2];
  if (cols.ndim != 3 || cols.shape[0] != dx.shape[0] || double(cols.shape[1]) != double(dx.shape[1]) * double(K) || cols.shape[2] != L)
    fail(env, m.op, "columns " + shape_str(cols) + " do not match input " + shape_str(dx0));
  if (cols.numel() > 0) kernels().col2im(dx, cols, g);
  return env.Undefined();
}

// The checks shared by the direct convolution's entry points: unit depth, stride 1, no dilation, a
// weight [outC, C / groups, KH, KW] matching x (C = x's channels; with `adjoint`, x holds outC
// channels and the output C), and planes small enough for the per-thread scratch. Returns the
// output's channel count.
int64_t direct_conv_checks(Napi::Env env, Meta& m, const TensorView& x, const TensorView& w, const SpatialGeom& g,
                           int64_t groups, bool adjoint) {
  if (g.in[0] != 1 || g.kernel[0] != 1 || g.out[0] != 1)
    fail(env, m.op, "the direct kernel takes 1-D and 2-D convolutions only (no depth, no depth padding)");
  for (int i = 0; i < 3; ++i)
    if (g.stride[i] != 1 || g.dilation[i] != 1) fail(env, m.op, "the direct kernel needs stride 1 and dilation 1");
  if (groups < 1 || groups > x.shape[1] || w.shape[0] % groups != 0)
    fail(env, m.op, "groups " + std::to_string(groups) + " do not divide the channels of weight " + shape_str(w));
  const int64_t in_c = adjoint ? w.shape[0] : w.shape[1] * groups, out_c = adjoint ? w.shape[1] * groups : w.shape[0];
  if (in_c != x.shape[1] || w.shape[2] != 1 || w.shape[3] != g.kernel[1] || w.shape[4] != g.kernel[2])
    fail(env, m.op, "weight " + shape_str(w) + " does not match input " + shape_str(x));
  // Scratch per thread: a padded copy of every input plane (and a few rows of reads past it); the
  // weight gradient keeps a vector of partial sums per weight and thread (2^21 weights: 128 MiB).
  // Layers whose output channels fill whole vectors at every CPU level (one group, a multiple of 16)
  // take the lanes-over-channels kernels (conv_direct_oc.cpp) instead: a scalar partial sum per
  // weight and thread, so 16 times the weights fit the same bound.
  const bool oc_lanes = groups == 1 && out_c % 16 == 0;
  const double ph = double(g.out[1] + g.kernel[1] - 1), pw = double(g.out[2] + g.kernel[2] - 1);
  const double weights = double(w.shape[0]) * double(w.shape[1]) * double(g.kernel[1] * g.kernel[2]);
  if ((ph + 1) * (pw + 16) * double(x.shape[1] + 4) > double(1 << 26) ||
      weights > double(oc_lanes ? 1 << 25 : 1 << 21))
    fail(env, m.op, "planes of " + shape_str(x) + " are too large for the direct kernel");
  return out_c;
}

// An activation code (kernel_types.h) from the meta; only a forward (`forward`) may apply one.
Activation read_activation(Napi::Env env, Meta& m, bool forward) {
  const int64_t act = m.next_int();
  if (act < 0 || act >= int64_t(Activation::Count)) fail(env, m.op, "unknown activation " + std::to_string(act));
  if (act != 0 && !forward) fail(env, m.op, "only the forward applies an activation");
  return Activation(act);
}

// convDirect(out, x, w, [bias]) meta: out, x, w, hasBias, [bias], ns, geometry as im2col, groups,
// adjoint, activation (out = act(conv + bias); the forward only). With adjoint (the input gradient), x is the output gradient, out the input gradient, w
// the forward's weight and the geometry the adjoint's (see kernels.h).
Napi::Value ConvDirect(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Meta m{env, "conv (direct)"};
  TensorView out0 = view(env, m), x0 = view(env, m), w0 = view(env, m);
  const bool has_bias = m.next() != 0;
  TensorView bias{};
  if (has_bias) bias = view(env, m);
  const int ns = read_ns(env, m);
  const TensorView x = widen5(env, m.op, x0, ns, "input"), w = widen5(env, m.op, w0, ns, "weight");
  const SpatialGeom g = read_conv_geom(env, m, ns, x);
  const int64_t groups = m.next_int();
  const bool adjoint = m.next() != 0;
  const Activation act = read_activation(env, m, !adjoint);
  const int64_t out_c = direct_conv_checks(env, m, x, w, g, groups, adjoint);
  const TensorView out = widen5(env, m.op, out0, ns, "output");
  want_float(env, m.op, x);
  want_dtype(env, m.op, w, x.dtype);
  want_dtype(env, m.op, out, x.dtype);
  want_contiguous(env, m.op, w);
  want_contiguous(env, m.op, out);
  want_spatial(env, m.op, out, x.shape[0], out_c, g.out, "output");
  if (has_bias) {
    want_dtype(env, m.op, bias, x.dtype);
    want_contiguous(env, m.op, bias);
    if (bias.ndim != 1 || bias.shape[0] != out_c) fail(env, m.op, "bias " + shape_str(bias) + " does not match weight " + shape_str(w0));
  }
  if (out.numel() > 0) kernels().conv_direct(out, x, w, has_bias ? &bias : nullptr, g, groups, adjoint, act);
  return env.Undefined();
}

// One pass of a convolution kernel that sees all three tensors of the convolution (convDepthwise,
// convImplicit). meta: y, x, w, hasBias, [bias], ns, geometry as im2col, groups, activation. y is
// output-shaped [N, outC, ...], x input-shaped [N, C, ...], w weight-shaped [outC, C / groups, ...].
// mode 0 writes y = act(conv(x, w) + bias); mode 1 writes x = the input gradient from y = gOut; mode 2 writes w = the
// weight gradient from x and y = gOut. The tensor written must be contiguous, and w too.
struct ConvPass {
  TensorView y, x, w, bias;
  bool has_bias;
  SpatialGeom g;
  int64_t groups;
  Activation act;
  const TensorView& written(int mode) const { return mode == 0 ? y : mode == 1 ? x : w; }
};

ConvPass read_conv_pass(Napi::Env env, Meta& m, int32_t mode) {
  if (mode < 0 || mode > 2) fail(env, m.op, "unknown mode " + std::to_string(mode));
  ConvPass p{};
  const TensorView y0 = view(env, m), x0 = view(env, m), w0 = view(env, m);
  p.has_bias = m.next() != 0;
  if (p.has_bias) p.bias = view(env, m);
  const int ns = read_ns(env, m);
  p.y = widen5(env, m.op, y0, ns, mode == 0 ? "output" : "output gradient");
  p.x = widen5(env, m.op, x0, ns, mode == 1 ? "input gradient" : "input");
  p.w = widen5(env, m.op, w0, ns, mode == 2 ? "weight gradient" : "weight");
  p.g = read_conv_geom(env, m, ns, p.x);
  p.groups = m.next_int();
  p.act = read_activation(env, m, mode == 0);
  const TensorView &x = p.x, &w = p.w;
  want_float(env, m.op, x);
  want_dtype(env, m.op, p.y, x.dtype);
  want_dtype(env, m.op, w, x.dtype);
  const int64_t N = x.shape[0], C = x.shape[1], outC = w.shape[0];
  if (p.groups < 1 || C % p.groups != 0 || outC % p.groups != 0 || w.shape[1] != C / p.groups)
    fail(env, m.op, "weight " + shape_str(w0) + " and groups " + std::to_string(p.groups) + " do not match input " + shape_str(x0));
  for (int i = 0; i < 3; ++i)
    if (w.shape[2 + i] != p.g.kernel[i]) fail(env, m.op, "weight " + shape_str(w0) + " does not match the kernel size");
  want_spatial(env, m.op, p.y, N, outC, p.g.out, mode == 0 ? "output" : "output gradient");
  want_contiguous(env, m.op, p.written(mode));
  want_contiguous(env, m.op, w);
  if (p.has_bias) {
    if (mode != 0) fail(env, m.op, "only the forward takes a bias");
    want_dtype(env, m.op, p.bias, x.dtype);
    if (p.bias.ndim != 1 || p.bias.shape[0] != outC || !p.bias.is_contiguous())
      fail(env, m.op, "bias " + shape_str(p.bias) + " must be [" + std::to_string(outC) + "], contiguous");
  }
  return p;
}

// The check ConvDepthwise and ConvDepthwiseBackward share: one filter per channel, 1-D or 2-D, and
// planes small enough for the per-thread scratch.
void want_depthwise(Napi::Env env, const char* op, const TensorView& x, const TensorView& w, const SpatialGeom& g,
                    int64_t groups) {
  if (g.in[0] != 1 || g.kernel[0] != 1) fail(env, op, "the depthwise kernel takes 1-D and 2-D convolutions only");
  if (groups != x.shape[1] || w.shape[0] != x.shape[1] || w.shape[1] != 1)
    fail(env, op, "groups " + std::to_string(groups) + " and weight " + shape_str(w) + " are not depthwise for input " +
                      shape_str(x));
  for (int i = 0; i < 3; ++i)
    if (w.shape[2 + i] != g.kernel[i]) fail(env, op, "weight " + shape_str(w) + " does not match the kernel size");
  // Zero-padded planes of scratch per thread.
  const double ph = double((g.out[1] - 1) * g.stride[1] + (g.kernel[1] - 1) * g.dilation[1] + 1);
  const double pw = double((g.out[2] - 1) * g.stride[2] + (g.kernel[2] - 1) * g.dilation[2] + 1);
  const double gh = double(g.in[1] + (g.kernel[1] - 1) * g.dilation[1]), gw = double(g.in[2] + (g.kernel[2] - 1) * g.dilation[2]);
  if (ph * pw > double(1 << 26) || gh * gw > double(1 << 26))
    fail(env, op, "planes of " + shape_str(x) + " are too large for the depthwise kernel");
}

// convDepthwise(mode) meta: as read_conv_pass, with groups == C == outC (one filter per channel),
// 1-D or 2-D. See kernels.h.
Napi::Value ConvDepthwise(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int32_t mode = info[0].ToNumber().Int32Value();
  Meta m{env, mode == 0 ? "conv (depthwise)" : "conv backward (depthwise)"};
  const ConvPass p = read_conv_pass(env, m, mode);
  const SpatialGeom& g = p.g;
  want_depthwise(env, m.op, p.x, p.w, g, p.groups);
  if (p.x.numel() > 0 && p.y.numel() > 0) kernels().conv_depthwise(mode, p.y, p.x, p.w, p.has_bias ? &p.bias : nullptr, g, p.act);
  else if (mode != 0 && p.written(mode).numel() > 0) kernels().fill(p.written(mode), 0);
  return env.Undefined();
}

// convImplicit(mode) meta: as read_conv_pass. Convolution as implicit GEMM (kernels.h; the CPU tiles im2col).
Napi::Value ConvImplicit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int32_t mode = info[0].ToNumber().Int32Value();
  Meta m{env, mode == 0 ? "conv (implicit GEMM)" : "conv backward (implicit GEMM)"};
  const ConvPass p = read_conv_pass(env, m, mode);
  want_contiguous(env, m.op, p.y);  // the output gradient too: the CPU's GEMMs take its rows flat
  want_float32_or_64(env, m.op, p.x);
  kernels().conv_implicit(mode, p.y, p.x, p.w, p.has_bias ? &p.bias : nullptr, p.g, p.groups, p.act);
  return env.Undefined();
}

// convDirectWeightGrad(dw, x, gOut) meta: dw, x, gOut, ns, geometry as im2col, groups. dw is written.
Napi::Value ConvDirectWeightGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Meta m{env, "conv backward (direct)"};
  TensorView dw0 = view(env, m), x0 = view(env, m), g0 = view(env, m);
  const int ns = read_ns(env, m);
  const TensorView x = widen5(env, m.op, x0, ns, "input"), dw = widen5(env, m.op, dw0, ns, "weight gradient");
  const TensorView gout = widen5(env, m.op, g0, ns, "output gradient");
  const SpatialGeom g = read_conv_geom(env, m, ns, x);
  const int64_t groups = m.next_int();
  direct_conv_checks(env, m, x, dw, g, groups, false);
  want_float32_or_64(env, m.op, x);
  want_dtype(env, m.op, dw, x.dtype);
  want_dtype(env, m.op, gout, x.dtype);
  want_writable(env, m.op, dw);
  want_spatial(env, m.op, gout, x.shape[0], dw.shape[0], g.out, "output gradient");
  if (dw.numel() > 0) kernels().conv_direct_weight_grad(dw, x, gout, g, groups);
  return env.Undefined();
}

// convBiasGrad(db, gOut) meta: db, gOut, ns. db ([C], contiguous) = gOut [N, C, ...] summed per channel.
Napi::Value ConvBiasGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Meta m{env, "conv backward (bias)"};
  TensorView db = view(env, m), g0 = view(env, m);
  const int ns = read_ns(env, m);
  const TensorView gout = widen5(env, m.op, g0, ns, "output gradient");
  want_float32_or_64(env, m.op, gout);
  want_dtype(env, m.op, db, gout.dtype);
  if (db.ndim != 1 || db.shape[0] != gout.shape[1] || !db.is_contiguous())
    fail(env, m.op, "bias gradient " + shape_str(db) + " must be [" + std::to_string(gout.shape[1]) + "], contiguous");
  kernels().conv_bias_grad(db, gout);
  return env.Undefined();
}

// maxPool(out, indices, x) meta: out, indices, x, ns, kernel[ns], stride[ns], padding[ns], dilation[ns], ceilMode
Napi::Value MaxPool(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Meta m{env, "maxPool"};
  TensorView out0 = view(env, m), ind0 = view(env, m), x0 = view(env, m);
  const int ns = read_ns(env, m);
  const TensorView x = widen5(env, m.op, x0, ns, "input");
  bool ceil_mode = false;
  const SpatialGeom g = read_pool_geom(env, m, ns, x, true, &ceil_mode);
  const TensorView out = widen5(env, m.op, out0, ns, "output"), ind = widen5(env, m.op, ind0, ns, "indices");
  want_float(env, m.op, x);
  want_dtype(env, m.op, out, x.dtype);
  want_dtype(env, m.op, ind, kInt32);
  want_contiguous(env, m.op, out);
  want_contiguous(env, m.op, ind);
  want_spatial(env, m.op, out, x.shape[0], x.shape[1], g.out, "output");
  want_spatial(env, m.op, ind, x.shape[0], x.shape[1], g.out, "indices");
  if (g.in[0] * g.in[1] * g.in[2] > 2147483647) fail(env, m.op, "input planes over 2^31 elements are not supported");
  if (out.numel() > 0) kernels().max_pool(out, ind, x, g);
  return env.Undefined();
}

// maxPoolBackward(dx, g, indices) meta: dx, g, indices, ns. dx (contiguous) is written.
Napi::Value MaxPoolBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Meta m{env, "maxPoolBackward"};
  TensorView dx0 = view(env, m), g0 = view(env, m), ind0 = view(env, m);
  const int ns = read_ns(env, m);
  const TensorView dx = widen5(env, m.op, dx0, ns, "input gradient"), g = widen5(env, m.op, g0, ns, "gradient"),
                   ind = widen5(env, m.op, ind0, ns, "indices");
  want_float(env, m.op, dx);
  want_dtype(env, m.op, g, dx.dtype);
  want_contiguous(env, m.op, dx);
  want_contiguous(env, m.op, ind);
  same_shape(env, m.op, g0, ind0);
  if (g.shape[0] != dx.shape[0] || g.shape[1] != dx.shape[1])
    fail(env, m.op, "gradient " + shape_str(g0) + " does not match input " + shape_str(dx0));
  want_dtype(env, m.op, ind, kInt32);
  // Indices are contiguous: one linear pass proves them inside the input plane.
  const int64_t plane = dx.shape[2] * dx.shape[3] * dx.shape[4], count = ind.numel();
  std::vector<char> buf;
  const int32_t* ip = host_span<int32_t>(ind, buf);
  bool in_bounds = true;
  for (int64_t i = 0; i < count; ++i) in_bounds &= ip[i] >= 0 && ip[i] < plane;
  if (!in_bounds) fail(env, m.op, "an index is out of bounds for input planes of " + std::to_string(plane) + " elements");
  if (dx.numel() > 0) kernels().max_pool_backward(dx, g, ind);
  return env.Undefined();
}

// The geometry and options avgPool and its backward share: the window (as read_pool_geom), then
// countIncludePad and divisorOverride (0: none).
SpatialGeom read_avg_pool_params(Napi::Env env, Meta& m, int ns, const TensorView& input, bool* count_include_pad,
                                 int64_t* divisor) {
  bool ceil_mode = false;
  const SpatialGeom g = read_pool_geom(env, m, ns, input, false, &ceil_mode);
  *count_include_pad = m.next() != 0;
  *divisor = m.next_int();
  if (*divisor < 0 || *divisor > kMaxWindowParam) fail(env, m.op, "bad divisor override");
  return g;
}

// avgPool(out, x) meta: out, x, ns, kernel[ns], stride[ns], padding[ns], ceilMode, countIncludePad,
// divisorOverride (0: none)
Napi::Value AvgPool(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Meta m{env, "avgPool"};
  TensorView out0 = view(env, m), x0 = view(env, m);
  const int ns = read_ns(env, m);
  const TensorView x = widen5(env, m.op, x0, ns, "input");
  bool count_include_pad = false;
  int64_t divisor = 0;
  const SpatialGeom g = read_avg_pool_params(env, m, ns, x, &count_include_pad, &divisor);
  const TensorView out = widen5(env, m.op, out0, ns, "output");
  want_float(env, m.op, x);
  want_dtype(env, m.op, out, x.dtype);
  want_contiguous(env, m.op, out);
  want_spatial(env, m.op, out, x.shape[0], x.shape[1], g.out, "output");
  if (out.numel() > 0) kernels().avg_pool(out, x, g, count_include_pad, divisor);
  return env.Undefined();
}

// avgPoolBackward(dx, g) meta: dx, g, then as avgPool. dx (contiguous) is written.
Napi::Value AvgPoolBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Meta m{env, "avgPoolBackward"};
  TensorView dx0 = view(env, m), g0 = view(env, m);
  const int ns = read_ns(env, m);
  const TensorView dx = widen5(env, m.op, dx0, ns, "input gradient");
  bool count_include_pad = false;
  int64_t divisor = 0;
  const SpatialGeom geom = read_avg_pool_params(env, m, ns, dx, &count_include_pad, &divisor);
  const TensorView g = widen5(env, m.op, g0, ns, "gradient");
  want_float(env, m.op, dx);
  want_dtype(env, m.op, g, dx.dtype);
  want_contiguous(env, m.op, dx);
  want_spatial(env, m.op, g, dx.shape[0], dx.shape[1], geom.out, "gradient");
  if (dx.numel() > 0) kernels().avg_pool_backward(dx, g, geom, count_include_pad, divisor);
  return env.Undefined();
}

// The shapes an adaptive pool's output a (or its gradient) and input b (5-D views of a0, b0) must
// have: the same batch and channels, positive spatial sizes small enough for the window bounds,
// computed as o * in / out.
void want_adaptive_sizes(Napi::Env env, const char* op, const TensorView& a, const TensorView& b, const TensorView& a0,
                         const TensorView& b0) {
  if (a.shape[0] != b.shape[0] || a.shape[1] != b.shape[1])
    fail(env, op, "shapes " + shape_str(a0) + " and " + shape_str(b0) + " differ in batch or channels");
  for (int i = 2; i < 5; ++i) {
    if (a.shape[i] < 1 || b.shape[i] < 1) fail(env, op, "spatial sizes must be positive");
    if (double(a.shape[i]) * double(b.shape[i]) > 4503599627370496.0) fail(env, op, "spatial sizes are too large");
  }
}

// adaptiveAvgPool(backward, a, b) meta: a, b, ns. Forward: a = out (contiguous), b = x; backward:
// a = dx (contiguous, written), b = g. The output size is out's (g's) spatial shape.
Napi::Value AdaptiveAvgPool(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const bool backward = info[0].ToBoolean().Value();
  Meta m{env, backward ? "adaptiveAvgPoolBackward" : "adaptiveAvgPool"};
  TensorView a0 = view(env, m), b0 = view(env, m);
  const int ns = read_ns(env, m);
  const TensorView a = widen5(env, m.op, a0, ns, backward ? "input gradient" : "output"),
                   b = widen5(env, m.op, b0, ns, backward ? "gradient" : "input");
  want_float(env, m.op, a);
  want_dtype(env, m.op, b, a.dtype);
  want_contiguous(env, m.op, a);
  want_adaptive_sizes(env, m.op, a, b, a0, b0);
  if (a.numel() > 0) {
    if (backward) kernels().adaptive_avg_pool_backward(a, b);
    else kernels().adaptive_avg_pool(a, b);
  }
  return env.Undefined();
}

// adaptiveMaxPool(out, indices, x) meta: out, indices, x, ns. out and indices (int32, flat positions
// in the input plane) are written, contiguous; the output size is out's spatial shape. The backward
// is maxPoolBackward's.
Napi::Value AdaptiveMaxPool(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Meta m{env, "adaptiveMaxPool"};
  TensorView out0 = view(env, m), ind0 = view(env, m), x0 = view(env, m);
  const int ns = read_ns(env, m);
  const TensorView out = widen5(env, m.op, out0, ns, "output"), ind = widen5(env, m.op, ind0, ns, "indices"),
                   x = widen5(env, m.op, x0, ns, "input");
  want_float(env, m.op, x);
  want_dtype(env, m.op, out, x.dtype);
  want_dtype(env, m.op, ind, kInt32);
  want_contiguous(env, m.op, out);
  want_contiguous(env, m.op, ind);
  same_shape(env, m.op, out0, ind0);
  want_adaptive_sizes(env, m.op, out, x, out0, x0);
  if (x.shape[2] * x.shape[3] * x.shape[4] > 2147483647) fail(env, m.op, "input planes over 2^31 elements are not supported");
  if (out.numel() > 0) kernels().adaptive_max_pool(out, ind, x);
  return env.Undefined();
}

uint64_t seed_from(Meta& m) {
  const uint64_t hi = uint64_t(m.next_int()), lo = uint64_t(m.next_int());
  return (hi << 32) | (lo & 0xffffffffull);
}

// uniform/normal(out) meta: out, seed_hi, seed_lo, offset, a, b ; randint same with integer a, b
Napi::Value Random(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Meta m{env, "random"};
  const int32_t kind = info[0].ToNumber().Int32Value();
  TensorView out = view(env, m);
  const uint64_t seed = seed_from(m);
  const int64_t offset = m.next_int();
  const double a = m.next(), b = m.next();
  want_contiguous(env, m.op, out);
  if (kind == 2) {
    if (out.dtype == kBool) fail(env, m.op, "randint cannot fill a bool tensor");
    if (!(b > a)) fail(env, m.op, "randint needs low < high");
    kernels().randint(out, seed, uint64_t(offset), int64_t(a), int64_t(b));
  } else {
    want_float(env, m.op, out);
    if (kind == 0) kernels().uniform(out, seed, uint64_t(offset), a, b);
    else kernels().normal(out, seed, uint64_t(offset), a, b);
  }
  return env.Undefined();
}

// ---- optimizer updates ----------------------------------------------------------------------------
// Each reads its hyperparameters first, then the views: p (the parameter, updated in place), g (its
// gradient) and the state buffers the options call for (updated in place). All must be tensors (not
// number operands) of p's shape and float dtype, contiguous and pairwise disjoint, so every element
// is read and written by one thread only.
void optim_views(Napi::Env env, Meta& m, TensorView* v, int count) {
  for (int i = 0; i < count; ++i) v[i] = view(env, m);
  if (g_scalar_used != 0) fail(env, m.op, "expected tensors, got a number operand");
  want_float(env, m.op, v[0]);
  for (int i = 0; i < count; ++i) {
    same_shape(env, m.op, v[0], v[i]);
    want_dtype(env, m.op, v[i], v[0].dtype);
    want_contiguous(env, m.op, v[i]);
  }
  const int64_t bytes = v[0].numel() * dtype_size(v[0].dtype);
  for (int i = 0; i < count; ++i)
    for (int j = i + 1; j < count; ++j) {
      const char* a = static_cast<const char*>(v[i].data);
      const char* b = static_cast<const char*>(v[j].data);
      if (bytes > 0 && a < b + bytes && b < a + bytes) fail(env, m.op, "parameter, gradient and state buffers overlap");
    }
}

// sgdStep() meta: lr, momentum, dampening, weightDecay, nesterov, maximize, initBuf, p, g, buf (if momentum != 0)
Napi::Value SgdStep(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Meta m{env, "sgdStep"};
  SgdParams h{};
  h.lr = m.next(), h.momentum = m.next(), h.dampening = m.next(), h.weight_decay = m.next();
  h.nesterov = m.next() != 0, h.maximize = m.next() != 0, h.init_buf = m.next() != 0;
  const bool has_buf = h.momentum != 0;
  TensorView v[3];
  optim_views(env, m, v, has_buf ? 3 : 2);
  const int64_t n = v[0].numel();
  if (n > 0) kernels().sgd_step(v[0].data, v[1].data, has_buf ? v[2].data : nullptr, v[0].dtype, n, h);
  return env.Undefined();
}

// adamStep() meta: beta1, beta2, eps, weightDecay, stepSize, biasCorrection2Sqrt, decay, amsgrad, decoupled,
// maximize, p, g, expAvg, expAvgSq, maxExpAvgSq (if amsgrad)
Napi::Value AdamStep(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Meta m{env, "adamStep"};
  AdamParams h{};
  h.beta1 = m.next(), h.beta2 = m.next(), h.eps = m.next(), h.weight_decay = m.next();
  h.step_size = m.next(), h.bias_correction2_sqrt = m.next(), h.decay = m.next();
  h.amsgrad = m.next() != 0, h.decoupled = m.next() != 0, h.maximize = m.next() != 0;
  TensorView v[5];
  optim_views(env, m, v, h.amsgrad ? 5 : 4);
  const int64_t n = v[0].numel();
  if (n > 0)
    kernels().adam_step(v[0].data, v[1].data, v[2].data, v[3].data, h.amsgrad ? v[4].data : nullptr, v[0].dtype, n, h);
  return env.Undefined();
}

// rmspropStep() meta: lr, alpha, eps, weightDecay, momentum, centered, maximize, p, g, squareAvg,
// gradAvg (if centered), buf (if momentum > 0)
Napi::Value RmspropStep(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Meta m{env, "rmspropStep"};
  RmspropParams h{};
  h.lr = m.next(), h.alpha = m.next(), h.eps = m.next(), h.weight_decay = m.next(), h.momentum = m.next();
  h.centered = m.next() != 0, h.maximize = m.next() != 0;
  const bool has_buf = h.momentum > 0;
  TensorView v[5];
  const int count = 3 + int(h.centered) + int(has_buf);
  optim_views(env, m, v, count);
  void* grad_avg = h.centered ? v[3].data : nullptr;
  void* buf = has_buf ? v[count - 1].data : nullptr;
  const int64_t n = v[0].numel();
  if (n > 0) kernels().rmsprop_step(v[0].data, v[1].data, v[2].data, grad_avg, buf, v[0].dtype, n, h);
  return env.Undefined();
}

// adagradStep() meta: clr, eps, weightDecay, maximize, p, g, sum
// crossEntropy(backward=false) meta: loss [N], lse [N], x [N, C], target [N], ignoreIndex.
// crossEntropy(backward=true)  meta: dx [N, C], g [N], x [N, C], lse [N], target [N], ignoreIndex.
// All contiguous; targets other than ignoreIndex are checked to lie in [0, C).
Napi::Value CrossEntropy(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const bool backward = info[0].ToBoolean().Value();
  Meta m{env, "crossEntropy"};
  TensorView a = view(env, m), b = view(env, m), x = view(env, m);
  TensorView lse_back = backward ? view(env, m) : TensorView{};
  TensorView t = view(env, m);
  const int64_t ignore = m.next_int();
  want_float(env, m.op, x);
  if (x.ndim != 2) fail(env, m.op, "expected logits [N, C], got " + shape_str(x));
  const int64_t n = x.shape[0], c = x.shape[1];
  want_dtype(env, m.op, t, kInt32);
  if (t.ndim != 1 || t.shape[0] != n) fail(env, m.op, "expected target [" + std::to_string(n) + "], got " + shape_str(t));
  const TensorView& loss_or_dx = a;
  const TensorView* vecs[] = {backward ? &b : &a, backward ? &lse_back : &b};
  for (const TensorView* v : vecs) {
    want_dtype(env, m.op, *v, x.dtype);
    if (v->ndim != 1 || v->shape[0] != n) fail(env, m.op, "per-row tensors must be [" + std::to_string(n) + "]");
  }
  if (backward) {
    same_shape(env, m.op, loss_or_dx, x);
    want_dtype(env, m.op, loss_or_dx, x.dtype);
  }
  for (const TensorView* v : {&a, &b, &x, &t}) want_contiguous(env, m.op, *v);
  if (backward) want_contiguous(env, m.op, lse_back);
  std::vector<char> buf;
  const int32_t* tp_host = host_span<int32_t>(t, buf);
  for (int64_t i = 0; i < n; ++i) {
    if (tp_host[i] != ignore && (tp_host[i] < 0 || tp_host[i] >= c))
      fail(env, m.op, "target " + std::to_string(tp_host[i]) + " is out of bounds for " + std::to_string(c) + " classes");
  }
  if (n == 0) return env.Undefined();
  const int32_t* tp = t.ptr<int32_t>();
  if (backward) kernels().cross_entropy_backward(a.data, b.data, x.data, lse_back.data, tp, x.dtype, n, c, ignore);
  else kernels().cross_entropy(a.data, b.data, x.data, tp, x.dtype, n, c, ignore);
  return env.Undefined();
}

// An optional operand: a flag in the metadata, then the tensor when the flag is set.
bool optional_view(Napi::Env env, Meta& m, TensorView& v) {
  if (m.next() == 0) return false;
  v = view(env, m);
  return true;
}

// A contiguous floating tensor of x's dtype holding exactly `n` elements (or failing with `what`).
void want_vector(Napi::Env env, const char* op, const TensorView& v, const TensorView& x, int64_t n, const char* what) {
  want_dtype(env, op, v, x.dtype);
  want_contiguous(env, op, v);
  if (v.numel() != n)
    fail(env, op, std::string(what) + " " + shape_str(v) + " must hold " + std::to_string(n) + " elements");
}

// The gradients a normalisation's backward may write (each optional), checked against x.
struct NormGrads {
  TensorView dx{}, dw{}, db{};
  bool has_dx = false, has_dw = false, has_db = false;
  void read(Napi::Env env, Meta& m) {
    has_dx = optional_view(env, m, dx);
    has_dw = optional_view(env, m, dw);
    has_db = optional_view(env, m, db);
  }
  void check(Napi::Env env, const char* op, const TensorView& x, int64_t params) const {
    if (has_dx) want_vector(env, op, dx, x, x.numel(), "input gradient");
    if (has_dw) want_vector(env, op, dw, x, params, "weight gradient");
    if (has_db) want_vector(env, op, db, x, params, "bias gradient");
  }
  void* dx_data() const { return has_dx ? dx.data : nullptr; }
  void* dw_data() const { return has_dw ? dw.data : nullptr; }
  void* db_data() const { return has_db ? db.data : nullptr; }
};

// convDepthwiseBackward() meta: gOut, x, w, hasDx, [dx], hasDw, [dw], hasDb, [db], ns, geometry as
// im2col, groups. Writes the gradients given (dx input-shaped, dw weight-shaped, db [C]; each
// contiguous) in one call (kernels.h conv_depthwise_backward).
Napi::Value ConvDepthwiseBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Meta m{env, "conv backward (depthwise)"};
  const TensorView g0 = view(env, m), x0 = view(env, m), w0 = view(env, m);
  NormGrads grads;
  grads.read(env, m);
  const int ns = read_ns(env, m);
  const TensorView gout = widen5(env, m.op, g0, ns, "output gradient");
  const TensorView x = widen5(env, m.op, x0, ns, "input"), w = widen5(env, m.op, w0, ns, "weight");
  const SpatialGeom g = read_conv_geom(env, m, ns, x);
  const int64_t groups = m.next_int();
  want_float(env, m.op, x);
  want_dtype(env, m.op, gout, x.dtype);
  want_dtype(env, m.op, w, x.dtype);
  want_depthwise(env, m.op, x, w, g, groups);
  want_spatial(env, m.op, gout, x.shape[0], x.shape[1], g.out, "output gradient");
  TensorView dx{}, dw{};
  if (grads.has_dx) {
    dx = widen5(env, m.op, grads.dx, ns, "input gradient");
    want_dtype(env, m.op, dx, x.dtype);
    want_contiguous(env, m.op, dx);
    want_spatial(env, m.op, dx, x.shape[0], x.shape[1], g.in, "input gradient");
  }
  if (grads.has_dw) {
    dw = widen5(env, m.op, grads.dw, ns, "weight gradient");
    want_dtype(env, m.op, dw, x.dtype);
    want_contiguous(env, m.op, dw);
    for (int i = 0; i < 5; ++i)
      if (dw.shape[i] != w.shape[i]) fail(env, m.op, "weight gradient " + shape_str(grads.dw) + " does not match weight " + shape_str(w0));
  }
  if (grads.has_db) want_vector(env, m.op, grads.db, x, x.shape[1], "bias gradient");
  if (x.numel() > 0 && gout.numel() > 0) {
    kernels().conv_depthwise_backward(grads.has_dx ? &dx : nullptr, grads.has_dw ? &dw : nullptr,
                                      grads.has_db ? &grads.db : nullptr, gout, x, w, g);
  } else {
    for (const TensorView* t : {grads.has_dx ? &dx : nullptr, grads.has_dw ? &dw : nullptr, grads.has_db ? &grads.db : nullptr})
      if (t && t->numel() > 0) kernels().fill(*t, 0);
  }
  return env.Undefined();
}

// layerNorm(backward) meta:
//   forward:  y, mean, rstd, x, d, eps, hasW, [w], hasB, [b]          (x viewed as [rows, d])
//   backward: hasDx, [dx], hasDw, [dw], hasDb, [db], g, x, mean, rstd, d, hasW, [w]
Napi::Value LayerNorm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const bool backward = info[0].ToBoolean().Value();
  Meta m{env, backward ? "layerNorm backward" : "layerNorm"};
  TensorView y{}, mean{}, rstd{}, g{}, w{}, b{};
  NormGrads grads;
  bool has_b = false;
  if (backward) {
    grads.read(env, m);
    g = view(env, m);
  } else {
    y = view(env, m);
    mean = view(env, m);
    rstd = view(env, m);
  }
  const TensorView x = view(env, m);
  if (backward) {
    mean = view(env, m);
    rstd = view(env, m);
  }
  const int64_t d = m.next_int();
  const double eps = backward ? 0.0 : m.next();
  const bool has_w = optional_view(env, m, w);
  if (!backward) has_b = optional_view(env, m, b);
  want_float(env, m.op, x);
  want_contiguous(env, m.op, x);
  const int64_t count = x.numel();
  if (d < 1 || count % d != 0) fail(env, m.op, "normalized size " + std::to_string(d) + " does not divide input " + shape_str(x));
  const int64_t rows = count / d;
  if (!(eps >= 0) || std::isinf(eps)) fail(env, m.op, "eps must be a finite number >= 0");
  want_vector(env, m.op, mean, x, rows, "mean");
  want_vector(env, m.op, rstd, x, rows, "rstd");
  if (has_w) want_vector(env, m.op, w, x, d, "weight");
  if (has_b) want_vector(env, m.op, b, x, d, "bias");
  if (backward) {
    want_vector(env, m.op, g, x, count, "gradient");
    grads.check(env, m.op, x, d);
    if (count > 0) {
      kernels().layer_norm_backward(grads.dx_data(), grads.dw_data(), grads.db_data(), g.data, x.data, mean.data,
                                    rstd.data, has_w ? w.data : nullptr, x.dtype, rows, d);
    } else {  // no rows: the parameter gradients are sums of nothing
      for (void* p : {grads.dw_data(), grads.db_data()})
        if (p) std::memset(p, 0, size_t(d) * size_t(dtype_size(x.dtype)));
    }
  } else {
    want_vector(env, m.op, y, x, count, "output");
    if (count > 0)
      kernels().layer_norm(y.data, mean.data, rstd.data, x.data, has_w ? w.data : nullptr, has_b ? b.data : nullptr,
                           x.dtype, rows, d, eps);
  }
  return env.Undefined();
}

// batchNorm(backward) meta (x is [n, c, ...], contiguous; s = the product of the trailing dims):
//   forward:  y, saveMean, saveRstd, x, training, momentum, eps, hasW, [w], hasB, [b], hasRunning,
//             [runningMean, runningVar]   (eval needs the running statistics)
//   backward: hasDx, [dx], hasDw, [dw], hasDb, [db], g, x, saveMean, saveRstd, training, hasW, [w]
Napi::Value BatchNorm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const bool backward = info[0].ToBoolean().Value();
  Meta m{env, backward ? "batchNorm backward" : "batchNorm"};
  TensorView y{}, mean{}, rstd{}, g{}, w{}, b{}, rm{}, rv{};
  NormGrads grads;
  bool has_b = false, has_running = false;
  if (backward) {
    grads.read(env, m);
    g = view(env, m);
  } else {
    y = view(env, m);
    mean = view(env, m);
    rstd = view(env, m);
  }
  const TensorView x = view(env, m);
  if (backward) {
    mean = view(env, m);
    rstd = view(env, m);
  }
  const bool training = m.next() != 0;
  const double momentum = backward ? 0.0 : m.next(), eps = backward ? 0.0 : m.next();
  const bool has_w = optional_view(env, m, w);
  if (!backward) {
    has_b = optional_view(env, m, b);
    if (m.next() != 0) {
      rm = view(env, m);
      rv = view(env, m);
      has_running = true;
    }
  }
  want_float(env, m.op, x);
  want_contiguous(env, m.op, x);
  if (x.ndim < 2) fail(env, m.op, "expected at least 2 dims [N, C, ...], got " + shape_str(x));
  const int64_t n = x.shape[0], c = x.shape[1], count = x.numel();
  const int64_t s = n * c > 0 ? count / (n * c) : 0;
  if (!(eps >= 0) || std::isinf(eps) || !(momentum >= 0 && momentum <= 1)) fail(env, m.op, "eps and momentum must be finite, momentum in [0, 1]");
  if (!backward && !training && !has_running) fail(env, m.op, "running statistics are required in eval mode");
  want_vector(env, m.op, mean, x, c, "mean");
  want_vector(env, m.op, rstd, x, c, "rstd");
  if (has_w) want_vector(env, m.op, w, x, c, "weight");
  if (has_b) want_vector(env, m.op, b, x, c, "bias");
  if (has_running) {
    want_vector(env, m.op, rm, x, c, "running mean");
    want_vector(env, m.op, rv, x, c, "running var");
  }
  if (backward) {
    want_vector(env, m.op, g, x, count, "gradient");
    grads.check(env, m.op, x, c);
    kernels().batch_norm_backward(grads.dx_data(), grads.dw_data(), grads.db_data(), g.data, x.data, mean.data,
                                  rstd.data, has_w ? w.data : nullptr, x.dtype, n, c, s, training);
  } else {
    want_vector(env, m.op, y, x, count, "output");
    kernels().batch_norm(y.data, mean.data, rstd.data, has_running ? rm.data : nullptr, has_running ? rv.data : nullptr,
                         x.data, has_w ? w.data : nullptr, has_b ? b.data : nullptr, x.dtype, n, c, s, training, momentum,
                         eps);
  }
  return env.Undefined();
}

Napi::Value AdagradStep(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Meta m{env, "adagradStep"};
  AdagradParams h{};
  h.clr = m.next(), h.eps = m.next(), h.weight_decay = m.next(), h.maximize = m.next() != 0;
  TensorView v[3];
  optim_views(env, m, v, 3);
  const int64_t n = v[0].numel();
  if (n > 0) kernels().adagrad_step(v[0].data, v[1].data, v[2].data, v[0].dtype, n, h);
  return env.Undefined();
}

// read(storage, offset, count) -> a new typed array with a copy of those elements (the raw bits in a
// Uint16Array for float16 / bfloat16; lib/half.ts widens them)
Napi::Value Read(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  StorageInfo si;
  if (!storage_lookup(info[0].ToNumber().DoubleValue(), &si)) fail(env, "read", "tensor storage was already freed");
  const StorageInfo* s = &si;
  const double off = info[1].ToNumber().DoubleValue(), cnt = info[2].ToNumber().DoubleValue();
  if (!(off >= 0 && cnt >= 0 && off + cnt <= double(s->numel))) fail(env, "read", "range outside the storage");
  const size_t n = size_t(cnt), es = size_t(dtype_size(s->dtype));
  const char* src = static_cast<const char*>(s->data) + size_t(off) * es;
  switch (s->dtype) {
    case kFloat32: { auto a = Napi::Float32Array::New(env, n); copy_to_host(a.Data(), src, n * es); return a; }
    case kFloat64: { auto a = Napi::Float64Array::New(env, n); copy_to_host(a.Data(), src, n * es); return a; }
    case kInt32: { auto a = Napi::Int32Array::New(env, n); copy_to_host(a.Data(), src, n * es); return a; }
    case kFloat16:
    case kBFloat16: { auto a = Napi::Uint16Array::New(env, n); copy_to_host(a.Data(), src, n * es); return a; }
    default: { auto a = Napi::Uint8Array::New(env, n); copy_to_host(a.Data(), src, n * es); return a; }
  }
}

// write(storage, offset, typedArray): copies the array's elements in, starting at offset; a
// Uint8Array written into float32/float64 storage is widened element by element.
Napi::Value Write(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  StorageInfo si;
  if (!storage_lookup(info[0].ToNumber().DoubleValue(), &si)) fail(env, "write", "tensor storage was already freed");
  const StorageInfo* s = &si;
  const double off = info[1].ToNumber().DoubleValue();
  if (!info[2].IsTypedArray()) fail(env, "write", "expected a typed array");
  auto ta = info[2].As<Napi::TypedArray>();
  napi_typedarray_type want = s->dtype == kFloat32   ? napi_float32_array
                              : s->dtype == kFloat64 ? napi_float64_array
                              : s->dtype == kInt32   ? napi_int32_array
                              : is_half_dtype(s->dtype) ? napi_uint16_array
                                                       : napi_uint8_array;
  // Bytes into a float32/float64 storage are widened (0..255 -> 0.0..255.0): images arrive as bytes.
  const bool widen = ta.TypedArrayType() == napi_uint8_array && (s->dtype == kFloat32 || s->dtype == kFloat64);
  if (ta.TypedArrayType() != want && !widen) fail(env, "write", std::string("typed array does not match dtype ") + dtype_name(s->dtype));
  const size_t n = ta.ElementLength(), es = size_t(dtype_size(s->dtype));
  if (!(off >= 0 && off + double(n) <= double(s->numel))) fail(env, "write", "range outside the storage");
  const char* src = static_cast<const char*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
  char* dst = static_cast<char*>(s->data) + size_t(off) * es;
  if (widen) {
    // Through a host buffer a block at a time: the storage may be device memory.
    const uint8_t* b = reinterpret_cast<const uint8_t*>(src);
    constexpr size_t kBlock = 8192;
    double block[kBlock];
    for (size_t i0 = 0; i0 < n; i0 += kBlock) {
      const size_t m = n - i0 < kBlock ? n - i0 : kBlock;
      if (s->dtype == kFloat32) {
        float* f = reinterpret_cast<float*>(block);
        for (size_t i = 0; i < m; ++i) f[i] = float(b[i0 + i]);
      } else {
        for (size_t i = 0; i < m; ++i) block[i] = double(b[i0 + i]);
      }
      copy_from_host(dst + i0 * es, block, m * es);
    }
    return env.Undefined();
  }
  copy_from_host(dst, src, n * es);
  return env.Undefined();
}

// Tensor memory is reported to V8 as external memory, so tensors that are never disposed still
// drive garbage collection. V8 starts a full GC whenever that figure grows some tens of MB past its
// value at the last GC, so reporting every alloc and free makes a training step that allocates and
// frees hundreds of MB pay for several full GCs. Instead the report follows the high-water mark of
// live bytes: growth is reported at once, a drop at most every two seconds and by at most half.
int64_t g_live_bytes = 0, g_reported_bytes = 0;
std::chrono::steady_clock::time_point g_last_drop{};

void report_external(Napi::Env env, int64_t delta) {
  g_live_bytes += delta;
  int64_t adjust = 0;
  if (g_live_bytes > g_reported_bytes) {
    adjust = g_live_bytes - g_reported_bytes;
  } else if (g_live_bytes < g_reported_bytes) {
    const auto now = std::chrono::steady_clock::now();
    if (now - g_last_drop > std::chrono::seconds(2)) {
      const int64_t target = g_live_bytes > g_reported_bytes / 2 ? g_live_bytes : g_reported_bytes / 2;
      adjust = target - g_reported_bytes;
      g_last_drop = now;
    }
  }
  if (adjust != 0) {
    g_reported_bytes += adjust;
    Napi::MemoryManagement::AdjustExternalMemory(env, adjust);
  }
}

// alloc(dtype, numel, zero) -> handle
Napi::Value Alloc(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int32_t dtype = info[0].ToNumber().Int32Value();
  const double numel = info[1].ToNumber().DoubleValue();
  if (dtype < 0 || dtype >= kNumDTypes) fail(env, "alloc", "unknown dtype code " + std::to_string(dtype));
  if (!(numel >= 0) || numel != std::floor(numel) || numel * double(dtype_size(dtype)) > double(kMaxStorageBytes))
    fail(env, "alloc", "cannot allocate " + std::to_string(numel) + " elements of " + dtype_name(dtype) +
                           " (the limit is 1 TiB per tensor)");
  int64_t bytes = 0;
  const double handle = storage_alloc(dtype, int64_t(numel), info[2].ToBoolean().Value(), &bytes);
  if (handle < 0)
    fail(env, "alloc", "out of memory allocating " + std::to_string(int64_t(numel) * dtype_size(dtype)) + " bytes");
  report_external(env, bytes);
  return Napi::Number::New(env, handle);
}

// free(handle): idempotent (a handle that is not live is ignored)
Napi::Value Free(const Napi::CallbackInfo& info) {
  const int64_t bytes = storage_free(info[0].ToNumber().DoubleValue());
  if (bytes > 0) report_external(info.Env(), -bytes);
  return info.Env().Undefined();
}

Napi::Value Stats(const Napi::CallbackInfo& info) {
  const StorageStats st = storage_stats();
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("storages", double(st.live_storages));
  o.Set("bytes", double(st.live_bytes));
  o.Set("cachedBytes", double(st.cached_bytes));
  return o;
}

Napi::Value EmptyCache(const Napi::CallbackInfo& info) {
  storage_empty_cache();
  return info.Env().Undefined();
}

Napi::Value GetNumThreads(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), num_threads()); }
Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  const int n = info[0].ToNumber().Int32Value();
  if (n < 1 || n > 1024) fail(info.Env(), "setNumThreads", "expected 1..1024 threads, got " + std::to_string(n));
  set_num_threads(n);
  return info.Env().Undefined();
}
Napi::Value CpuLevel(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), kernels().level); }
Napi::Value CpuLevels(const Napi::CallbackInfo& info) {
  const char* names[8];
  int n = available_kernel_levels(names, 8);
  Napi::Array a = Napi::Array::New(info.Env(), n);
  for (int i = 0; i < n; ++i) a.Set(uint32_t(i), names[i]);
  return a;
}
// bf16MatmulKernel([name]) -> the bfloat16 GEMM kernel in use ('widen', 'dot', 'amx'), after pinning
// `name` ('auto' unpins) when given; fails naming the kernels that run here when it does not.
// bf16MatmulKernels() -> those names.
const char* const kBf16Kernels[] = {"auto", "widen", "dot", "amx"};
Napi::Value Bf16MatmulKernels(const Napi::CallbackInfo& info) {
  Napi::Array out = Napi::Array::New(info.Env());
  uint32_t n = 0;
  for (int k = 1; k < 4; ++k)
    if (kernels().bf16_gemm_has(k)) out.Set(n++, Napi::String::New(info.Env(), kBf16Kernels[k]));
  return out;
}
Napi::Value Bf16MatmulKernel(const Napi::CallbackInfo& info) {
  int request = -1;
  if (info.Length() > 0 && info[0].IsString()) {
    const std::string name = info[0].As<Napi::String>().Utf8Value();
    for (int k = 0; k < 4; ++k)
      if (name == kBf16Kernels[k]) request = k;
    if (request < 0 || kernels().bf16_gemm_kernel(request) < 0) {
      std::string have;
      for (int k = 1; k < 4; ++k)
        if (kernels().bf16_gemm_has(k)) have += std::string(have.empty() ? "" : ", ") + "'" + kBf16Kernels[k] + "'";
      fail(info.Env(), "setBf16MatmulKernel", "kernel '" + name + "' does not run here (level " + kernels().level +
                                                   "; available: 'auto', " + have + ")");
    }
  }
  const int k = kernels().bf16_gemm_kernel(-1);
  return Napi::String::New(info.Env(), kBf16Kernels[k >= 0 && k < 4 ? k : 1]);
}
// gemmTile([pin]) -> the float GEMM's register-tile pin (0 per product, 1 or 2 a shape), after
// setting it when given; fails when this level has no such shape.
Napi::Value GemmTile(const Napi::CallbackInfo& info) {
  if (info.Length() > 0 && info[0].IsNumber()) {
    const double request = info[0].As<Napi::Number>().DoubleValue();
    if (!(request >= 0 && request <= 2 && request == double(int(request))) || kernels().gemm_tile(int(request)) < 0)
      fail(info.Env(), "gemmTile", "tile shape " + info[0].ToString().Utf8Value() + " does not run at level " +
                                       std::string(kernels().level) + " (0 picks per product; 1 and 2 are the shapes)");
  }
  return Napi::Number::New(info.Env(), kernels().gemm_tile(-1));
}
// gemmUnpacked([allowed]) -> whether the float GEMM may skip packing for a small B, after setting it
// when given (tests pin it off to reach the packed path at small sizes).
Napi::Value GemmUnpacked(const Napi::CallbackInfo& info) {
  if (info.Length() > 0 && info[0].IsBoolean()) kernels().gemm_unpacked(info[0].As<Napi::Boolean>().Value() ? 1 : 0);
  return Napi::Boolean::New(info.Env(), kernels().gemm_unpacked(-1) != 0);
}
Napi::Value SetCpuLevel(const Napi::CallbackInfo& info) {
  const std::string name = info[0].ToString().Utf8Value();
  if (!select_kernel_level(name.c_str()))
    fail(info.Env(), "setCpuLevel", "level '" + name + "' is not available on this CPU or in this build");
  return info.Env().Undefined();
}

// ---- recurrent layers -----------------------------------------------------------------------------
// One layer and direction of nn.RNN / LSTM / GRU per call (kernels/rnn.h; sizes in rnn_params.h).
// Every tensor is checked against the sizes read from xg (forward) or dxg (backward): T steps,
// B batch, G*H gate width, and P (W_hh's columns).

// A contiguous tensor of `dtype` with exactly `shape` (or failing with `what` and both shapes).
void want_rnn_tensor(Napi::Env env, const char* op, const TensorView& v, int32_t dtype,
                     std::initializer_list<int64_t> shape, const char* what) {
  bool ok = v.ndim == int32_t(shape.size());
  int d = 0;
  for (int64_t s : shape) ok = ok && v.shape[d++] == s;
  if (!ok) {
    std::string want = "[";
    d = 0;
    for (int64_t s : shape) want += (d++ ? ", " : "") + std::to_string(s);
    fail(env, op, std::string(what) + " has shape " + shape_str(v) + ", expected " + want + "]");
  }
  if (v.dtype != dtype)
    fail(env, op, std::string(what) + " is " + dtype_name(v.dtype) + ", expected " + dtype_name(dtype));
  if (!v.is_contiguous()) fail(env, op, std::string(what) + " must be contiguous");
}

// Reads the sizes from the gate tensor [T, B, G*H] and W_hh [G*H, P] and checks them.
RnnDims rnn_dims(Napi::Env env, const char* op, RnnMode mode, const TensorView& gates, const TensorView& w_hh) {
  want_float(env, op, gates);
  if (gates.ndim != 3) fail(env, op, "gate pre-activations must be [T, B, G*H], got " + shape_str(gates));
  const int64_t G = rnn_gates(mode);
  RnnDims d{};
  d.mode = mode;
  d.dtype = gates.dtype;
  d.T = gates.shape[0];
  d.B = gates.shape[1];
  d.H = gates.shape[2] / G;
  if (d.T < 1 || d.B < 1 || d.H < 1 || gates.shape[2] % G != 0)
    fail(env, op, "gate pre-activations " + shape_str(gates) + " must be non-empty with a multiple of " +
                      std::to_string(G) + " gate values");
  if (w_hh.ndim != 2 || w_hh.shape[0] != G * d.H || w_hh.shape[1] < 1)
    fail(env, op, "weight_hh " + shape_str(w_hh) + " does not match gates " + shape_str(gates));
  d.P = w_hh.shape[1];
  want_rnn_tensor(env, op, w_hh, d.dtype, {G * d.H, d.P}, "weight_hh");
  return d;
}

// The optional projection W_hr [P, H] (LSTM only); without it P must equal H.
bool rnn_projection(Napi::Env env, const char* op, Meta& m, const RnnDims& d, TensorView& w_hr) {
  const bool proj = optional_view(env, m, w_hr);
  if (proj) {
    if (d.mode != RnnMode::Lstm) fail(env, op, "only LSTM takes a projection weight");
    want_rnn_tensor(env, op, w_hr, d.dtype, {d.P, d.H}, "weight_hr");
  } else if (d.P != d.H) {
    fail(env, op, "weight_hh has " + std::to_string(d.P) + " columns, expected the hidden size " + std::to_string(d.H));
  }
  return proj;
}

// The optional int32 lengths [B], each in 1..T; the reverse flag follows. `host` keeps a device's
// lengths readable by the host for the duration of the call.
void rnn_lengths(Napi::Env env, const char* op, Meta& m, RnnDims& d, std::vector<char>& host) {
  TensorView len{};
  if (optional_view(env, m, len)) {
    want_rnn_tensor(env, op, len, kInt32, {d.B}, "lengths");
    const int32_t* p = host_span<int32_t>(len, host);
    for (int64_t b = 0; b < d.B; ++b)
      if (p[b] < 1 || p[b] > d.T)
        fail(env, op, "lengths[" + std::to_string(b) + "] = " + std::to_string(p[b]) + " is outside 1.." + std::to_string(d.T));
    d.lengths = p;
    d.device_lengths = static_cast<const int32_t*>(len.data);
  }
  d.reverse = m.next() != 0;
}

void want_rnn_scratch(Napi::Env env, const char* op, const TensorView& s, const RnnDims& d, bool proj, bool backward) {
  want_dtype(env, op, s, d.dtype);
  want_contiguous(env, op, s);
  const int64_t need = rnn_scratch_size(d.mode, d.T, d.B, d.H, d.P, proj, backward);
  if (s.numel() < need)
    fail(env, op, "scratch " + shape_str(s) + " holds fewer than the " + std::to_string(need) + " elements needed");
}

// rnnForward(mode) meta: out, hN, hasCN, [cN], hprev, ws, scratch, xg, wHh, hasBhh, [bHh], hasWhr, [wHr],
//   hasH0, [h0], hasC0, [c0], hasLengths, [lengths], reverse
Napi::Value RnnForward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Meta m{env, "rnn"};
  const RnnMode mode = want_enum<RnnMode>(env, m.op, info[0]);
  TensorView out = view(env, m), h = view(env, m), c{}, b_hh{}, w_hr{}, h0{}, c0{};
  const bool has_c = optional_view(env, m, c);
  TensorView hprev = view(env, m), ws = view(env, m), scratch = view(env, m), xg = view(env, m), w_hh = view(env, m);
  const bool has_b = optional_view(env, m, b_hh);
  RnnDims d = rnn_dims(env, m.op, mode, xg, w_hh);
  want_contiguous(env, m.op, xg);
  const bool proj = rnn_projection(env, m.op, m, d, w_hr);
  const bool has_h0 = optional_view(env, m, h0), has_c0 = optional_view(env, m, c0);
  std::vector<char> lengths_host;
  rnn_lengths(env, m.op, m, d, lengths_host);
  const int64_t T = d.T, B = d.B, H = d.H, P = d.P, GH = rnn_gates(mode) * H;
  const bool lstm = mode == RnnMode::Lstm;
  if (has_c != lstm || (has_c0 && !lstm)) fail(env, m.op, "a cell state is taken by LSTM only, and required there");
  want_rnn_tensor(env, m.op, out, d.dtype, {T, B, P}, "output");
  want_rnn_tensor(env, m.op, h, d.dtype, {B, P}, "final hidden state");
  if (has_c) want_rnn_tensor(env, m.op, c, d.dtype, {B, H}, "final cell state");
  want_rnn_tensor(env, m.op, hprev, d.dtype, {T, B, P}, "saved states");
  want_rnn_tensor(env, m.op, ws, d.dtype, {T, B, rnn_ws_width(mode, H, proj)}, "saved activations");
  if (has_b) want_rnn_tensor(env, m.op, b_hh, d.dtype, {GH}, "bias_hh");
  if (has_h0) want_rnn_tensor(env, m.op, h0, d.dtype, {B, P}, "initial hidden state");
  if (has_c0) want_rnn_tensor(env, m.op, c0, d.dtype, {B, H}, "initial cell state");
  want_rnn_scratch(env, m.op, scratch, d, proj, false);
  RnnForwardArgs a{};
  a.d = d;
  a.out = out.data;
  a.h = h.data;
  a.c = has_c ? c.data : nullptr;
  a.hprev = hprev.data;
  a.ws = ws.data;
  a.scratch = scratch.data;
  a.xg = xg.data;
  a.w_hh = w_hh.data;
  a.b_hh = has_b ? b_hh.data : nullptr;
  a.w_hr = proj ? w_hr.data : nullptr;
  a.h0 = has_h0 ? h0.data : nullptr;
  a.c0 = has_c0 ? c0.data : nullptr;
  kernels().rnn_forward(a);
  return env.Undefined();
}

// rnnBackward(mode) meta: dxg, dh0, hasDc0, [dc0], dWhh, hasDbhh, [dbhh], hasDbih, [dbih], hasDWhr, [dWhr],
//   scratch, dout, hasDhN, [dhN], hasDcN, [dcN], hprev, ws, wHh, hasWhr, [wHr], hasLengths, [lengths], reverse
// dout may have any strides; every other tensor is contiguous.
Napi::Value RnnBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Meta m{env, "rnn backward"};
  const RnnMode mode = want_enum<RnnMode>(env, m.op, info[0]);
  TensorView dxg = view(env, m), dh0 = view(env, m), dc0{}, db_hh{}, db_ih{}, dw_hr{}, dhN{}, dcN{}, w_hr{};
  const bool has_dc0 = optional_view(env, m, dc0);
  TensorView dw_hh = view(env, m);
  const bool has_dbhh = optional_view(env, m, db_hh), has_dbih = optional_view(env, m, db_ih);
  const bool has_dwhr = optional_view(env, m, dw_hr);
  TensorView scratch = view(env, m), dout = view(env, m);
  const bool has_dhN = optional_view(env, m, dhN), has_dcN = optional_view(env, m, dcN);
  TensorView hprev = view(env, m), ws = view(env, m), w_hh = view(env, m);
  RnnDims d = rnn_dims(env, m.op, mode, dxg, w_hh);
  const bool proj = rnn_projection(env, m.op, m, d, w_hr);
  std::vector<char> lengths_host;
  rnn_lengths(env, m.op, m, d, lengths_host);
  const int64_t T = d.T, B = d.B, H = d.H, P = d.P, GH = rnn_gates(mode) * H;
  const bool lstm = mode == RnnMode::Lstm;
  if (has_dc0 != lstm || (has_dcN && !lstm)) fail(env, m.op, "a cell state is taken by LSTM only, and required there");
  if (has_dwhr != proj) fail(env, m.op, "the projection weight's gradient goes with the projection weight");
  want_rnn_tensor(env, m.op, dxg, d.dtype, {T, B, GH}, "gate gradient");
  want_rnn_tensor(env, m.op, dh0, d.dtype, {B, P}, "initial hidden state gradient");
  if (has_dc0) want_rnn_tensor(env, m.op, dc0, d.dtype, {B, H}, "initial cell state gradient");
  want_rnn_tensor(env, m.op, dw_hh, d.dtype, {GH, P}, "weight_hh gradient");
  if (has_dbhh) want_rnn_tensor(env, m.op, db_hh, d.dtype, {GH}, "bias_hh gradient");
  if (has_dbih) want_rnn_tensor(env, m.op, db_ih, d.dtype, {GH}, "bias_ih gradient");
  if (has_dwhr) want_rnn_tensor(env, m.op, dw_hr, d.dtype, {P, H}, "weight_hr gradient");
  if (dout.ndim != 3 || dout.shape[0] != T || dout.shape[1] != B || dout.shape[2] != P)
    fail(env, m.op, "output gradient " + shape_str(dout) + " does not match [" + std::to_string(T) + ", " +
                        std::to_string(B) + ", " + std::to_string(P) + "]");
  want_dtype(env, m.op, dout, d.dtype);
  if (has_dhN) want_rnn_tensor(env, m.op, dhN, d.dtype, {B, P}, "final hidden state gradient");
  if (has_dcN) want_rnn_tensor(env, m.op, dcN, d.dtype, {B, H}, "final cell state gradient");
  want_rnn_tensor(env, m.op, hprev, d.dtype, {T, B, P}, "saved states");
  want_rnn_tensor(env, m.op, ws, d.dtype, {T, B, rnn_ws_width(mode, H, proj)}, "saved activations");
  want_rnn_scratch(env, m.op, scratch, d, proj, true);
  RnnBackwardArgs a{};
  a.d = d;
  a.dxg = dxg.data;
  a.dh0 = dh0.data;
  a.dc0 = has_dc0 ? dc0.data : nullptr;
  a.dw_hh = dw_hh.data;
  a.db_hh = has_dbhh ? db_hh.data : nullptr;
  a.db_ih = has_dbih ? db_ih.data : nullptr;
  a.dw_hr = has_dwhr ? dw_hr.data : nullptr;
  a.scratch = scratch.data;
  a.dout = dout.data;
  a.dout_st = dout.strides[0];
  a.dout_sb = dout.strides[1];
  a.dout_sj = dout.strides[2];
  a.dhN = has_dhN ? dhN.data : nullptr;
  a.dcN = has_dcN ? dcN.data : nullptr;
  a.hprev = hprev.data;
  a.ws = ws.data;
  a.w_hh = w_hh.data;
  a.w_hr = proj ? w_hr.data : nullptr;
  kernels().rnn_backward(a);
  return env.Undefined();
}

// Fused attention. Both entries read, after their own tensors, the inputs
//   q, k, v, maskKind (0 none, 1 bool, 2 additive), [mask], causal, scale
// with q [B1, B2, L, E], k [B1, B2, S, E], v [B1, B2, S, Ev], mask [B1, B2, L, S]; unit stride on
// the last dim of q, k, v, dout and the outputs (out, dq, dk, dv; lse is contiguous).
AttentionArgs read_attention_inputs(Napi::Env env, Meta& m) {
  AttentionArgs a{};
  a.q = view(env, m);
  a.k = view(env, m);
  a.v = view(env, m);
  const int64_t kind = m.next_int();
  if (kind < 0 || kind > 2) fail(env, m.op, "unknown mask kind " + std::to_string(kind));
  a.mask_kind = AttnMaskKind(kind);
  if (kind != 0) a.mask = view(env, m);
  a.causal = m.next() != 0;
  a.scale = m.next();
  if (!std::isfinite(a.scale)) fail(env, m.op, "scale must be finite");
  const TensorView* qkv[3] = {&a.q, &a.k, &a.v};
  const char* names[3] = {"query", "key", "value"};
  for (int i = 0; i < 3; ++i) {
    const TensorView& t = *qkv[i];
    if (t.ndim != 4) fail(env, m.op, std::string(names[i]) + " must be 4-D, got " + shape_str(t));
    want_float(env, m.op, t);
    want_dtype(env, m.op, t, a.q.dtype);
    if (t.shape[3] > 1 && t.strides[3] != 1) fail(env, m.op, std::string(names[i]) + " needs a unit stride on its last dim");
    if (t.shape[0] != a.q.shape[0] || t.shape[1] != a.q.shape[1])
      fail(env, m.op, "batch dims of query " + shape_str(a.q) + " and " + names[i] + " " + shape_str(t) + " differ");
    for (int d = 0; d < 4; ++d)
      if (t.shape[d] < 1 || (d == 3 && t.shape[d] > 65536))
        fail(env, m.op, std::string(names[i]) + " " + shape_str(t) + " must have sizes >= 1 and a feature size <= 65536");
  }
  if (a.k.shape[3] != a.q.shape[3]) fail(env, m.op, "query " + shape_str(a.q) + " and key " + shape_str(a.k) + " differ in feature size");
  if (a.v.shape[2] != a.k.shape[2]) fail(env, m.op, "key " + shape_str(a.k) + " and value " + shape_str(a.v) + " differ in length");
  if (kind != 0) {
    want_dtype(env, m.op, a.mask, kind == 1 ? int32_t(kBool) : a.q.dtype);
    const int64_t want[4] = {a.q.shape[0], a.q.shape[1], a.q.shape[2], a.k.shape[2]};
    bool ok = a.mask.ndim == 4;
    for (int d = 0; ok && d < 4; ++d) ok = a.mask.shape[d] == want[d];
    if (!ok) fail(env, m.op, "mask " + shape_str(a.mask) + " must be [B1, B2, L, S] = [" + std::to_string(want[0]) + ", " +
                             std::to_string(want[1]) + ", " + std::to_string(want[2]) + ", " + std::to_string(want[3]) + "]");
  }
  return a;
}

// An output of dtype `dtype` and exactly the given shape: contiguous, or (`strided`) any layout with
// a unit last stride and no broadcast dims (the kernels write through the strides).
void want_attention_out(Napi::Env env, const char* op, const TensorView& t, int32_t dtype,
                        std::initializer_list<int64_t> shape, const char* what, bool strided = false) {
  want_dtype(env, op, t, dtype);
  if (!strided) want_contiguous(env, op, t);
  else {
    want_writable(env, op, t);
    if (t.ndim > 0 && t.shape[t.ndim - 1] > 1 && t.strides[t.ndim - 1] != 1)
      fail(env, op, std::string(what) + " needs a unit stride on its last dim");
  }
  bool ok = t.ndim == int32_t(shape.size());
  int d = 0;
  for (int64_t s : shape) ok = ok && t.shape[d++] == s;
  if (!ok) fail(env, op, std::string(what) + " has the wrong shape " + shape_str(t));
}

// attentionForward() meta: out, lse, then the inputs (see read_attention_inputs).
Napi::Value AttentionForward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Meta m{env, "scaledDotProductAttention"};
  AttentionForwardArgs a{};
  a.out = view(env, m);
  a.lse = view(env, m);
  a.in = read_attention_inputs(env, m);
  const TensorView& q = a.in.q;
  want_attention_out(env, m.op, a.out, q.dtype, {q.shape[0], q.shape[1], q.shape[2], a.in.v.shape[3]}, "output", true);
  want_attention_out(env, m.op, a.lse, q.dtype, {q.shape[0], q.shape[1], q.shape[2]}, "log-sum-exp");
  kernels().attention_forward(a);
  return env.Undefined();
}

// attentionBackward() meta: dq, dk, dv, dout, out, lse, then the inputs (see read_attention_inputs).
Napi::Value AttentionBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Meta m{env, "scaledDotProductAttention backward"};
  AttentionBackwardArgs a{};
  a.dq = view(env, m);
  a.dk = view(env, m);
  a.dv = view(env, m);
  a.dout = view(env, m);
  a.out = view(env, m);
  a.lse = view(env, m);
  a.in = read_attention_inputs(env, m);
  const TensorView &q = a.in.q, &k = a.in.k, &v = a.in.v;
  const int64_t B1 = q.shape[0], B2 = q.shape[1], L = q.shape[2], E = q.shape[3], S = k.shape[2], Ev = v.shape[3];
  want_attention_out(env, m.op, a.dq, q.dtype, {B1, B2, L, E}, "query gradient", true);
  want_attention_out(env, m.op, a.dk, q.dtype, {B1, B2, S, E}, "key gradient", true);
  want_attention_out(env, m.op, a.dv, q.dtype, {B1, B2, S, Ev}, "value gradient", true);
  want_attention_out(env, m.op, a.out, q.dtype, {B1, B2, L, Ev}, "output", true);
  want_attention_out(env, m.op, a.lse, q.dtype, {B1, B2, L}, "log-sum-exp");
  want_dtype(env, m.op, a.dout, q.dtype);
  if (a.dout.ndim != 4 || a.dout.shape[0] != B1 || a.dout.shape[1] != B2 || a.dout.shape[2] != L || a.dout.shape[3] != Ev)
    fail(env, m.op, "output gradient " + shape_str(a.dout) + " does not match the output");
  if (Ev > 1 && a.dout.strides[3] != 1) fail(env, m.op, "output gradient needs a unit stride on its last dim");
  kernels().attention_backward(a);
  return env.Undefined();
}

// fmaPeak(seconds) -> GFLOP/s: vector FMA throughput of all pool threads at the current CPU level,
// timed over about `seconds` (0.01 .. 10).
Napi::Value FmaPeak(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const double seconds = info[0].ToNumber().DoubleValue();
  if (!(seconds >= 0.01 && seconds <= 10)) fail(env, "fmaPeak", "seconds must be in [0.01, 10]");
  using clock = std::chrono::steady_clock;
  int64_t iters = 1 << 16;
  for (;;) {  // grow the run until it lasts long enough to time
    const auto t0 = clock::now();
    const double flops = kernels().fma_burn(iters);
    const double t = std::chrono::duration<double>(clock::now() - t0).count();
    if (t >= seconds || iters > (int64_t(1) << 40)) return Napi::Number::New(env, flops / t / 1e9);
    iters = t > 0 ? int64_t(double(iters) * (seconds / t) * 1.1) + 1 : iters * 16;
  }
}

// Every entry point ends by asking the device whether its work failed (a CUDA launch; never on the
// CPU), so the error surfaces as a JS Error from the op that caused it.
template <Napi::Value (*F)(const Napi::CallbackInfo&)>
Napi::Value checked(const Napi::CallbackInfo& info) {
  Napi::Value r = F(info);
  std::string msg;
  if (take_device_error(&msg)) throw Napi::Error::New(info.Env(), msg);
  return r;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  const KernelTable& k = kernels();
  // An entry point is exported only when the device has its kernel (lib/ says which ops a device lacks).
  auto add = [&](const char* name, Napi::Function::Callback fn, bool available) {
    if (available) exports.Set(name, Napi::Function::New(env, fn, name));
  };
#define TF_ENTRY(name, Fn, available) add(name, checked<Fn>, available)
  TF_ENTRY("alloc", Alloc, true);
  TF_ENTRY("free", Free, true);
  TF_ENTRY("emptyCache", EmptyCache, true);
  TF_ENTRY("setMeta", SetMeta, true);
  TF_ENTRY("read", Read, true);
  TF_ENTRY("write", Write, true);
  TF_ENTRY("stats", Stats, true);
  TF_ENTRY("unary", Unary, k.unary);
  TF_ENTRY("unaryBackward", UnaryBackward, k.unary_backward);
  TF_ENTRY("binary", Binary, k.binary);
  TF_ENTRY("where", Where, k.where);
  TF_ENTRY("copy", Copy, k.copy);
  TF_ENTRY("fill", Fill, k.fill);
  TF_ENTRY("reduce", Reduce, k.reduce);
  TF_ENTRY("softmax", Softmax, k.softmax);
  TF_ENTRY("softmaxBackward", SoftmaxBackward, k.softmax_backward);
  TF_ENTRY("gemm", Gemm, k.gemm);
  TF_ENTRY("gemmEpilogue", GemmEpilogueEntry, k.gemm_epilogue);
  TF_ENTRY("indexSelect", IndexSelect, k.index_select);
  TF_ENTRY("indexAdd", IndexAdd, k.index_add);
  TF_ENTRY("gather", Gather, k.gather);
  TF_ENTRY("scatterAdd", ScatterAdd, k.scatter_add);
  TF_ENTRY("random", Random, k.uniform && k.normal && k.randint);
  TF_ENTRY("im2col", Im2col, k.im2col);
  TF_ENTRY("col2im", Col2im, k.col2im);
  TF_ENTRY("convDirect", ConvDirect, k.conv_direct);
  TF_ENTRY("convDirectWeightGrad", ConvDirectWeightGrad, k.conv_direct_weight_grad);
  TF_ENTRY("convBiasGrad", ConvBiasGrad, k.conv_bias_grad);
  TF_ENTRY("convDepthwise", ConvDepthwise, k.conv_depthwise);
  TF_ENTRY("convDepthwiseBackward", ConvDepthwiseBackward, k.conv_depthwise_backward);
  TF_ENTRY("convImplicit", ConvImplicit, k.conv_implicit);
  TF_ENTRY("maxPool", MaxPool, k.max_pool);
  TF_ENTRY("maxPoolBackward", MaxPoolBackward, k.max_pool_backward);
  TF_ENTRY("avgPool", AvgPool, k.avg_pool);
  TF_ENTRY("avgPoolBackward", AvgPoolBackward, k.avg_pool_backward);
  TF_ENTRY("adaptiveAvgPool", AdaptiveAvgPool, k.adaptive_avg_pool && k.adaptive_avg_pool_backward);
  TF_ENTRY("adaptiveMaxPool", AdaptiveMaxPool, k.adaptive_max_pool && k.max_pool_backward);
  TF_ENTRY("sgdStep", SgdStep, k.sgd_step);
  TF_ENTRY("adamStep", AdamStep, k.adam_step);
  TF_ENTRY("rmspropStep", RmspropStep, k.rmsprop_step);
  TF_ENTRY("adagradStep", AdagradStep, k.adagrad_step);
  TF_ENTRY("crossEntropy", CrossEntropy, k.cross_entropy && k.cross_entropy_backward);
  TF_ENTRY("layerNorm", LayerNorm, k.layer_norm && k.layer_norm_backward);
  TF_ENTRY("batchNorm", BatchNorm, k.batch_norm && k.batch_norm_backward);
  TF_ENTRY("rnnForward", RnnForward, k.rnn_forward);
  TF_ENTRY("rnnBackward", RnnBackward, k.rnn_backward);
  TF_ENTRY("attentionForward", AttentionForward, k.attention_forward);
  TF_ENTRY("attentionBackward", AttentionBackward, k.attention_backward);
#ifndef TF_DEVICE_CUDA
  TF_ENTRY("getNumThreads", GetNumThreads, true);
  TF_ENTRY("setNumThreads", SetNumThreads, true);
  TF_ENTRY("cpuLevel", CpuLevel, true);
  TF_ENTRY("cpuLevels", CpuLevels, true);
  TF_ENTRY("setCpuLevel", SetCpuLevel, true);
  TF_ENTRY("bf16MatmulKernel", Bf16MatmulKernel, true);
  TF_ENTRY("bf16MatmulKernels", Bf16MatmulKernels, true);
  TF_ENTRY("gemmTile", GemmTile, true);
  TF_ENTRY("gemmUnpacked", GemmUnpacked, true);
  TF_ENTRY("fmaPeak", FmaPeak, k.fma_burn);
#else
  add_device_entries(env, exports);
#endif
#undef TF_ENTRY
  return exports;
}

}  // namespace

bool scalar_operand_value(const TensorView& v, double* value) {
  const ScalarSlot* slot = static_cast<const ScalarSlot*>(v.data);
  if (slot < g_scalar_slots || slot >= g_scalar_slots + 4) return false;
  switch (v.dtype) {
    case kFloat32: *value = slot->f; break;
    case kFloat64: *value = slot->d; break;
    case kInt32: *value = slot->i; break;
    case kFloat16: *value = f16_bits_to_float(slot->h); break;
    case kBFloat16: *value = bf16_bits_to_float(slot->h); break;
    default: *value = slot->b; break;
  }
  return true;
}

}  // namespace tf

static Napi::Object InitTensorforge(Napi::Env env, Napi::Object exports) { return tf::Init(env, exports); }
NODE_API_MODULE(tensorforge, InitTensorforge)
