// The only N-API file. It validates every argument (types, sizes, ranges) and then calls a pure
// kernel from kernels/. A bad argument becomes a JavaScript TypeError/RangeError, never a crash.
#define NAPI_VERSION 8
#include <napi.h>

#include <cstdlib>
#include <cstring>
#include <stdexcept>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <string>
#include <vector>

#include "kernels/isa.h"
#include "kernels/kernels.h"
#include "kernels/vecmath.h"
#include "threadpool.h"

namespace {

using glmkit::AttentionParams;
using glmkit::GemmBf16Params;
using glmkit::GemmParams;

[[noreturn]] void fail(Napi::Env env, const std::string& fn, const std::string& msg) {
  throw Napi::TypeError::New(env, "glmkit native " + fn + ": " + msg);
}

struct Args {
  const Napi::CallbackInfo& info;
  const char* fn;
  // Every kernel entry builds an Args: re-reading GLMKIT_ISA here lets a process switch the
  // non-GEMM kernels' path between calls (kernels/isa.h), as the GEMMs do per call.
  bool isa_refreshed = (glmkit::refresh_vec_isa(), true);
  Napi::Env env() const { return info.Env(); }

  float* f32(size_t i, const char* name, int64_t min_len) const {
    if (i >= info.Length() || !info[i].IsTypedArray() ||
        info[i].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
      fail(env(), fn, std::string("argument '") + name + "' must be a Float32Array");
    auto arr = info[i].As<Napi::Float32Array>();
    if (static_cast<int64_t>(arr.ElementLength()) < min_len)
      fail(env(), fn, std::string("argument '") + name + "' has " + std::to_string(arr.ElementLength()) +
                          " elements, expected at least " + std::to_string(min_len));
    return arr.Data();
  }
  // Uint16Array (bfloat16 bits).
  uint16_t* u16(size_t i, const char* name, int64_t min_len) const {
    if (i >= info.Length() || !info[i].IsTypedArray() ||
        info[i].As<Napi::TypedArray>().TypedArrayType() != napi_uint16_array)
      fail(env(), fn, std::string("argument '") + name + "' must be a Uint16Array (bfloat16 bits)");
    auto arr = info[i].As<Napi::Uint16Array>();
    if (static_cast<int64_t>(arr.ElementLength()) < min_len)
      fail(env(), fn, std::string("argument '") + name + "' has " + std::to_string(arr.ElementLength()) +
                          " elements, expected at least " + std::to_string(min_len));
    return arr.Data();
  }
  // Int32Array or null/undefined (returns nullptr when allow_null).
  int32_t* i32(size_t i, const char* name, int64_t min_len, bool allow_null = false) const {
    if (allow_null && (i >= info.Length() || info[i].IsNull() || info[i].IsUndefined())) return nullptr;
    if (i >= info.Length() || !info[i].IsTypedArray() ||
        info[i].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
      fail(env(), fn, std::string("argument '") + name + "' must be an Int32Array");
    auto arr = info[i].As<Napi::Int32Array>();
    if (static_cast<int64_t>(arr.ElementLength()) < min_len)
      fail(env(), fn, std::string("argument '") + name + "' has " + std::to_string(arr.ElementLength()) +
                          " elements, expected at least " + std::to_string(min_len));
    return arr.Data();
  }
  int64_t integer(size_t i, const char* name, int64_t min_value = 0) const {
    if (i >= info.Length() || !info[i].IsNumber()) fail(env(), fn, std::string("argument '") + name + "' must be a number");
    double d = info[i].As<Napi::Number>().DoubleValue();
    if (d != static_cast<double>(static_cast<int64_t>(d)) || d < static_cast<double>(min_value))
      fail(env(), fn, std::string("argument '") + name + "' must be an integer >= " + std::to_string(min_value) +
                          ", got " + std::to_string(d));
    return static_cast<int64_t>(d);
  }
  // Double, so kernels that need it (AdamW's 1 - beta2) can derive constants before rounding to float.
  double number(size_t i, const char* name) const {
    if (i >= info.Length() || !info[i].IsNumber()) fail(env(), fn, std::string("argument '") + name + "' must be a number");
    return info[i].As<Napi::Number>().DoubleValue();
  }
  bool boolean(size_t i, const char* name) const {
    if (i >= info.Length() || !info[i].IsBoolean()) fail(env(), fn, std::string("argument '") + name + "' must be a boolean");
    return info[i].As<Napi::Boolean>().Value();
  }
};

Napi::Value Info(const Napi::CallbackInfo& info) {
  auto o = Napi::Object::New(info.Env());
  o.Set("isa", glmkit::gemm_isa());
  o.Set("bf16Isa", glmkit::gemm_bf16_isa());
  o.Set("bf16Dot", glmkit::gemm_bf16_dot_isa());
  o.Set("bf16Compute", glmkit::gemm_mixed_isa());
  glmkit::refresh_vec_isa();
  o.Set("vecIsa", glmkit::isa_name(glmkit::vec_isa()));
  o.Set("threads", glmkit::num_threads());
  return o;
}

// fmaPeak(iters): GFLOP/s of register FMAs on the active path over all pool threads (a measured peak).
Napi::Value FmaPeak(const Napi::CallbackInfo& info) {
  Args a{info, "fmaPeak"};
  return Napi::Number::New(info.Env(), glmkit::fma_peak_gflops(a.integer(0, "iters", 1)));
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  Args a{info, "setThreads"};
  glmkit::set_num_threads(static_cast<int>(a.integer(0, "threads", 1)));
  return info.Env().Undefined();
}

// setCallerInline(on): this JS thread's kernels run inline, single-threaded (on = true), or on the pool.
Napi::Value SetCallerInline(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsBoolean()) throw Napi::TypeError::New(info.Env(), "setCallerInline: expected one boolean argument");
  glmkit::set_caller_inline(info[0].As<Napi::Boolean>().Value());
  return info.Env().Undefined();
}

// gemm(a, b, c, batch, m, n, k, transA, transB, strideA, strideB, strideC, alpha, beta, bf16Compute?)
Napi::Value Gemm(const Napi::CallbackInfo& info) {
  Args a{info, "gemm"};
  GemmParams p{};
  p.batch = a.integer(3, "batch", 1);
  p.m = a.integer(4, "m");
  p.n = a.integer(5, "n");
  p.k = a.integer(6, "k");
  p.trans_a = a.boolean(7, "transA");
  p.trans_b = a.boolean(8, "transB");
  p.stride_a = a.integer(9, "strideA");
  p.stride_b = a.integer(10, "strideB");
  p.stride_c = a.integer(11, "strideC", 0);
  p.alpha = a.number(12, "alpha");
  p.beta = a.number(13, "beta");
  p.bf16_compute = info.Length() > 14 && !info[14].IsUndefined() ? a.boolean(14, "bf16Compute") : false;
  if (p.batch > 1 && p.stride_c < p.m * p.n) fail(info.Env(), "gemm", "strideC must be >= m*n when batch > 1");
  p.a = a.f32(0, "a", (p.batch - 1) * p.stride_a + p.m * p.k);
  p.b = a.f32(1, "b", (p.batch - 1) * p.stride_b + p.k * p.n);
  p.c = a.f32(2, "c", (p.batch - 1) * p.stride_c + p.m * p.n);
  glmkit::gemm(p);
  return info.Env().Undefined();
}

// gemmPackedSize(n, k): floats of W [n, k] packed for the active GEMM kernel (gemmPackWeights).
Napi::Value GemmPackedSize(const Napi::CallbackInfo& info) {
  Args a{info, "gemmPackedSize"};
  return Napi::Number::New(info.Env(), static_cast<double>(glmkit::gemm_packed_size(a.integer(0, "n", 1), a.integer(1, "k", 1))));
}

// gemmPackWeights(w, raw, n, k): packs W [n, k] into `raw` (a Float32Array of gemmPackedSize + 15
// floats, allocated by JavaScript so V8 accounts for it and frees it) from its first 64-byte aligned
// float on (the micro-kernels load panels aligned); returns { offset (floats), isa (the kernel's name) }.
Napi::Value GemmPackWeights(const Napi::CallbackInfo& info) {
  Args a{info, "gemmPackWeights"};
  const int64_t n = a.integer(2, "n", 1), k = a.integer(3, "k", 1);
  const float* w = a.f32(0, "w", n * k);
  const int64_t count = glmkit::gemm_packed_size(n, k);
  float* raw = a.f32(1, "raw", count + 15);
  const uintptr_t addr = reinterpret_cast<uintptr_t>(raw);
  if (addr % sizeof(float) != 0) fail(info.Env(), "gemmPackWeights", "argument 'raw' is not float-aligned");
  const int64_t offset = static_cast<int64_t>(((64 - addr % 64) % 64) / sizeof(float));
  const char* isa = glmkit::gemm_pack_weights(w, n, k, raw + offset);
  auto o = Napi::Object::New(info.Env());
  o.Set("offset", Napi::Number::New(info.Env(), static_cast<double>(offset)));
  o.Set("isa", isa);
  return o;
}

// gemmPrepacked(a, packed, c, m, n, k, beta, isa): C = A @ W^T + beta * C from W packed by
// gemmPackWeights under the kernel named `isa`, which must still be the active one.
Napi::Value GemmPrepacked(const Napi::CallbackInfo& info) {
  Args a{info, "gemmPrepacked"};
  const int64_t m = a.integer(3, "m"), n = a.integer(4, "n", 1), k = a.integer(5, "k", 1);
  const float beta = static_cast<float>(a.number(6, "beta"));
  if (info.Length() < 8 || !info[7].IsString()) fail(info.Env(), "gemmPrepacked", "argument 'isa' must be a string");
  const std::string isa = info[7].As<Napi::String>().Utf8Value();
  if (isa != glmkit::gemm_isa())
    fail(info.Env(), "gemmPrepacked", "the weights were packed for the " + isa + " kernel, but the active one is " +
                                          glmkit::gemm_isa() + "; pack them again (gemmPackWeights)");
  const float* x = a.f32(0, "a", m * k);
  const float* packed = a.f32(1, "packed", glmkit::gemm_packed_size(n, k));
  if (reinterpret_cast<uintptr_t>(packed) % 64 != 0) fail(info.Env(), "gemmPrepacked", "the packed weights must start at the 64-byte aligned offset gemmPackWeights returned");
  float* c = a.f32(2, "c", m * n);
  glmkit::gemm_prepacked(x, packed, c, m, n, k, beta);
  return info.Env().Undefined();
}

// gemmBf16(a, b, c, m, n, k, transB, beta, bf16Dot?): C = A @ op(B) + beta * C with B bfloat16 bits;
// bf16Dot (default false) asks for the AVX512_BF16 path with A rounded to bf16 (see kernels.h)
Napi::Value GemmBf16(const Napi::CallbackInfo& info) {
  Args a{info, "gemmBf16"};
  GemmBf16Params p{};
  p.m = a.integer(3, "m");
  p.n = a.integer(4, "n");
  p.k = a.integer(5, "k");
  p.trans_b = a.boolean(6, "transB");
  p.beta = a.number(7, "beta");
  p.bf16_dot = info.Length() > 8 && !info[8].IsUndefined() ? a.boolean(8, "bf16Dot") : false;
  p.a = a.f32(0, "a", p.m * p.k);
  p.b = a.u16(1, "b", p.k * p.n);
  p.c = a.f32(2, "c", p.m * p.n);
  glmkit::gemm_bf16(p);
  return info.Env().Undefined();
}

// rmsnormForward(x, w, out, rstd, rows, dim, eps)
Napi::Value RmsnormForward(const Napi::CallbackInfo& info) {
  Args a{info, "rmsnormForward"};
  int64_t rows = a.integer(4, "rows"), dim = a.integer(5, "dim", 1);
  glmkit::rmsnorm_forward(a.f32(0, "x", rows * dim), a.f32(1, "w", dim), a.f32(2, "out", rows * dim),
                          a.f32(3, "rstd", rows), rows, dim, a.number(6, "eps"));
  return info.Env().Undefined();
}

// rmsnormBackward(dy, x, w, rstd, dx, dw, rows, dim)
Napi::Value RmsnormBackward(const Napi::CallbackInfo& info) {
  Args a{info, "rmsnormBackward"};
  int64_t rows = a.integer(6, "rows"), dim = a.integer(7, "dim", 1);
  glmkit::rmsnorm_backward(a.f32(0, "dy", rows * dim), a.f32(1, "x", rows * dim), a.f32(2, "w", dim),
                           a.f32(3, "rstd", rows), a.f32(4, "dx", rows * dim), a.f32(5, "dw", dim), rows, dim);
  return info.Env().Undefined();
}

// layernormForward(x, w, b, out, mean, rstd, rows, dim, eps)
Napi::Value LayernormForward(const Napi::CallbackInfo& info) {
  Args a{info, "layernormForward"};
  int64_t rows = a.integer(6, "rows"), dim = a.integer(7, "dim", 1);
  glmkit::layernorm_forward(a.f32(0, "x", rows * dim), a.f32(1, "w", dim), a.f32(2, "b", dim), a.f32(3, "out", rows * dim),
                            a.f32(4, "mean", rows), a.f32(5, "rstd", rows), rows, dim, a.number(8, "eps"));
  return info.Env().Undefined();
}

// layernormBackward(dy, x, w, mean, rstd, dx, dw, db, rows, dim)
Napi::Value LayernormBackward(const Napi::CallbackInfo& info) {
  Args a{info, "layernormBackward"};
  int64_t rows = a.integer(8, "rows"), dim = a.integer(9, "dim", 1);
  glmkit::layernorm_backward(a.f32(0, "dy", rows * dim), a.f32(1, "x", rows * dim), a.f32(2, "w", dim),
                             a.f32(3, "mean", rows), a.f32(4, "rstd", rows), a.f32(5, "dx", rows * dim),
                             a.f32(6, "dw", dim), a.f32(7, "db", dim), rows, dim);
  return info.Env().Undefined();
}

// geluForward(x, out, n)
Napi::Value GeluForward(const Napi::CallbackInfo& info) {
  Args a{info, "geluForward"};
  int64_t n = a.integer(2, "n");
  glmkit::gelu_forward(a.f32(0, "x", n), a.f32(1, "out", n), n);
  return info.Env().Undefined();
}

// geluBackward(x, dout, dx, n)
Napi::Value GeluBackward(const Napi::CallbackInfo& info) {
  Args a{info, "geluBackward"};
  int64_t n = a.integer(3, "n");
  glmkit::gelu_backward(a.f32(0, "x", n), a.f32(1, "dout", n), a.f32(2, "dx", n), n);
  return info.Env().Undefined();
}

// rope(x, cos, sin, out, rows, heads, headDim, rotaryDim, interleaved, inverse)
Napi::Value Rope(const Napi::CallbackInfo& info) {
  Args a{info, "rope"};
  int64_t rows = a.integer(4, "rows"), heads = a.integer(5, "heads", 1), hd = a.integer(6, "headDim", 1);
  int64_t rd = a.integer(7, "rotaryDim");
  if (rd % 2 != 0 || rd > hd) fail(info.Env(), "rope", "rotaryDim must be even and <= headDim");
  glmkit::rope(a.f32(0, "x", rows * heads * hd), a.f32(1, "cos", rows * rd / 2), a.f32(2, "sin", rows * rd / 2),
               a.f32(3, "out", rows * heads * hd), rows, heads, hd, rd, a.boolean(8, "interleaved"),
               a.boolean(9, "inverse"));
  return info.Env().Undefined();
}

// Attention shape arguments start at index `base`:
// batch, tq, tk, qOffset, headsQ, headsKv, headDim, scale, causal, prefixLen|null, keyMask|null[, kvCapacity]
AttentionParams attention_params(const Args& a, size_t base) {
  AttentionParams p{};
  p.batch = a.integer(base + 0, "batch");
  p.tq = a.integer(base + 1, "tq");
  p.tk = a.integer(base + 2, "tk");
  p.q_offset = a.integer(base + 3, "qOffset");
  p.heads_q = a.integer(base + 4, "headsQ", 1);
  p.heads_kv = a.integer(base + 5, "headsKv", 1);
  p.head_dim = a.integer(base + 6, "headDim", 1);
  p.scale = a.number(base + 7, "scale");
  p.causal = a.boolean(base + 8, "causal");
  p.prefix_len = a.i32(base + 9, "prefixLen", p.batch, true);
  p.kv_capacity = base + 11 < a.info.Length() && !a.info[base + 11].IsUndefined() ? a.integer(base + 11, "kvCapacity", 1) : p.tk;
  if (p.kv_capacity < p.tk) fail(a.env(), a.fn, "kvCapacity must be >= tk");
  p.key_mask = a.i32(base + 10, "keyMask", p.batch * p.kv_capacity, true);
  if (p.heads_q % p.heads_kv != 0) fail(a.env(), a.fn, "headsQ must be a multiple of headsKv");
  return p;
}

// attentionForward(q, k, v, out, lse, ...shape)
Napi::Value AttentionForward(const Napi::CallbackInfo& info) {
  Args a{info, "attentionForward"};
  AttentionParams p = attention_params(a, 5);
  int64_t nq = p.batch * p.tq * p.heads_q * p.head_dim, nk = p.batch * p.kv_capacity * p.heads_kv * p.head_dim;
  glmkit::attention_forward(p, a.f32(0, "q", nq), a.f32(1, "k", nk), a.f32(2, "v", nk), a.f32(3, "out", nq),
                            a.f32(4, "lse", p.batch * p.heads_q * p.tq));
  return info.Env().Undefined();
}

// attentionBackward(q, k, v, out, lse, dout, dq, dk, dv, ...shape)
Napi::Value AttentionBackward(const Napi::CallbackInfo& info) {
  Args a{info, "attentionBackward"};
  AttentionParams p = attention_params(a, 9);
  if (p.kv_capacity != p.tk) fail(a.env(), a.fn, "kvCapacity must equal tk (a KV cache's buffers are for inference only)");
  int64_t nq = p.batch * p.tq * p.heads_q * p.head_dim, nk = p.batch * p.tk * p.heads_kv * p.head_dim;
  glmkit::attention_backward(p, a.f32(0, "q", nq), a.f32(1, "k", nk), a.f32(2, "v", nk), a.f32(3, "out", nq),
                             a.f32(4, "lse", p.batch * p.heads_q * p.tq), a.f32(5, "dout", nq), a.f32(6, "dq", nq),
                             a.f32(7, "dk", nk), a.f32(8, "dv", nk));
  return info.Env().Undefined();
}

// (x, out, rows, cols)
template <void (*K)(const float*, float*, int64_t, int64_t)>
Napi::Value RowwiseForward(const Napi::CallbackInfo& info) {
  Args a{info, "softmax"};
  int64_t rows = a.integer(2, "rows"), cols = a.integer(3, "cols", 1);
  K(a.f32(0, "x", rows * cols), a.f32(1, "out", rows * cols), rows, cols);
  return info.Env().Undefined();
}

// (y, dy, dx, rows, cols)
template <void (*K)(const float*, const float*, float*, int64_t, int64_t)>
Napi::Value RowwiseBackward(const Napi::CallbackInfo& info) {
  Args a{info, "softmaxBackward"};
  int64_t rows = a.integer(3, "rows"), cols = a.integer(4, "cols", 1);
  K(a.f32(0, "y", rows * cols), a.f32(1, "dy", rows * cols), a.f32(2, "dx", rows * cols), rows, cols);
  return info.Env().Undefined();
}

void check_targets(const Args& a, const int32_t* t, int64_t rows, int64_t cols, int32_t ignore) {
  for (int64_t r = 0; r < rows; ++r)
    if (t[r] != ignore && (t[r] < 0 || t[r] >= cols))
      throw Napi::RangeError::New(a.env(), std::string("glmkit native ") + a.fn + ": target " + std::to_string(t[r]) +
                                               " at row " + std::to_string(r) + " is outside [0, " +
                                               std::to_string(cols) + ") and is not the ignore index");
}

// crossEntropyForward(logits, targets, losses, lse, rows, cols, ignoreIndex)
Napi::Value CrossEntropyForward(const Napi::CallbackInfo& info) {
  Args a{info, "crossEntropyForward"};
  int64_t rows = a.integer(4, "rows"), cols = a.integer(5, "cols", 1);
  int32_t ignore = static_cast<int32_t>(a.integer(6, "ignoreIndex", INT32_MIN));
  int32_t* t = a.i32(1, "targets", rows);
  check_targets(a, t, rows, cols, ignore);
  glmkit::cross_entropy_forward(a.f32(0, "logits", rows * cols), t, a.f32(2, "losses", rows), a.f32(3, "lse", rows),
                                rows, cols, ignore);
  return info.Env().Undefined();
}

// crossEntropyBackward(logits, targets, lse, dloss, dlogits, rows, cols, ignoreIndex)
Napi::Value CrossEntropyBackward(const Napi::CallbackInfo& info) {
  Args a{info, "crossEntropyBackward"};
  int64_t rows = a.integer(5, "rows"), cols = a.integer(6, "cols", 1);
  int32_t ignore = static_cast<int32_t>(a.integer(7, "ignoreIndex", INT32_MIN));
  int32_t* t = a.i32(1, "targets", rows);
  check_targets(a, t, rows, cols, ignore);
  glmkit::cross_entropy_backward(a.f32(0, "logits", rows * cols), t, a.f32(2, "lse", rows), a.f32(3, "dloss", rows),
                                 a.f32(4, "dlogits", rows * cols), rows, cols, ignore);
  return info.Env().Undefined();
}

// addForward(x, y, out, n) / mulForward(x, y, out, n): one validation for both.
template <void (*Kernel)(const float*, const float*, float*, int64_t)>
Napi::Value BinaryForward(const Napi::CallbackInfo& info, const char* name) {
  Args a{info, name};
  int64_t n = a.integer(3, "n");
  Kernel(a.f32(0, "x", n), a.f32(1, "y", n), a.f32(2, "out", n), n);
  return info.Env().Undefined();
}
Napi::Value AddForward(const Napi::CallbackInfo& info) { return BinaryForward<glmkit::add_forward>(info, "addForward"); }
Napi::Value MulForward(const Napi::CallbackInfo& info) { return BinaryForward<glmkit::mul_forward>(info, "mulForward"); }

// swigluForward(x, out, rows, inner)
Napi::Value SwigluForward(const Napi::CallbackInfo& info) {
  Args a{info, "swigluForward"};
  int64_t rows = a.integer(2, "rows"), inner = a.integer(3, "inner", 1);
  glmkit::swiglu_forward(a.f32(0, "x", rows * 2 * inner), a.f32(1, "out", rows * inner), rows, inner);
  return info.Env().Undefined();
}

// swigluBackward(x, dout, dx, rows, inner)
Napi::Value SwigluBackward(const Napi::CallbackInfo& info) {
  Args a{info, "swigluBackward"};
  int64_t rows = a.integer(3, "rows"), inner = a.integer(4, "inner", 1);
  glmkit::swiglu_backward(a.f32(0, "x", rows * 2 * inner), a.f32(1, "dout", rows * inner),
                          a.f32(2, "dx", rows * 2 * inner), rows, inner);
  return info.Env().Undefined();
}

// The Float32Arrays of an array argument in triples (gate [inner, hidden], up, down [hidden, inner]
// of an expert), each at least as long as its place in the triple needs.
std::vector<const float*> f32_triples(const Args& a, size_t i, const char* name, int64_t hidden, int64_t inner) {
  if (i >= a.info.Length() || !a.info[i].IsArray() || a.info[i].As<Napi::Array>().Length() % 3 != 0)
    fail(a.env(), a.fn, std::string("argument '") + name + "' must be an array of 3 Float32Arrays (gate, up, down) per expert");
  auto arr = a.info[i].As<Napi::Array>();
  const int64_t min_len = hidden * inner;
  std::vector<const float*> out(arr.Length());
  for (uint32_t j = 0; j < arr.Length(); ++j) {
    Napi::Value v = arr.Get(j);
    const std::string what = std::string(name) + "[" + std::to_string(j) + "]";
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
      fail(a.env(), a.fn, "'" + what + "' must be a Float32Array");
    auto t = v.As<Napi::Float32Array>();
    if (static_cast<int64_t>(t.ElementLength()) < min_len)
      fail(a.env(), a.fn, "'" + what + "' has " + std::to_string(t.ElementLength()) + " elements, expected at least " + std::to_string(min_len));
    out[j] = t.Data();
  }
  return out;
}

// moeExpertsForward(x, tokens, hidden, inner, k, slotExpert, weights, mats, sharedMats, sharedInner, out):
// mats = [gate_0, up_0, down_0, gate_1, ...] of the experts used; sharedMats = [gate, up, down] or null.
Napi::Value MoeExpertsForward(const Napi::CallbackInfo& info) {
  Args a{info, "moeExpertsForward"};
  glmkit::MoeExpertsParams p{};
  p.tokens = a.integer(1, "tokens");
  p.hidden = a.integer(2, "hidden", 1);
  p.inner = a.integer(3, "inner", 1);
  p.k = a.integer(4, "k", 1);
  p.x = a.f32(0, "x", p.tokens * p.hidden);
  p.slot_expert = a.i32(5, "slotExpert", p.tokens * p.k);
  p.weights = a.f32(6, "weights", p.tokens * p.k);
  const auto mats = f32_triples(a, 7, "mats", p.hidden, p.inner);
  p.experts_used = static_cast<int64_t>(mats.size()) / 3;
  std::vector<const float*> gate(p.experts_used), up(p.experts_used), down(p.experts_used);
  for (int64_t e = 0; e < p.experts_used; ++e) {
    gate[e] = mats[3 * e];
    up[e] = mats[3 * e + 1];
    down[e] = mats[3 * e + 2];
  }
  for (int64_t s = 0; s < p.tokens * p.k; ++s)
    if (p.slot_expert[s] < -1 || p.slot_expert[s] >= p.experts_used)
      throw Napi::RangeError::New(a.env(), "glmkit native moeExpertsForward: slotExpert[" + std::to_string(s) + "] = " +
                                               std::to_string(p.slot_expert[s]) + " is outside [-1, " + std::to_string(p.experts_used) + ")");
  p.shared_inner = a.integer(9, "sharedInner");
  std::vector<const float*> shared;
  if (p.shared_inner > 0) {
    shared = f32_triples(a, 8, "sharedMats", p.hidden, p.shared_inner);
    if (shared.size() != 3) fail(a.env(), a.fn, "argument 'sharedMats' must hold one expert (gate, up, down), got " + std::to_string(shared.size()) + " arrays");
    p.shared_gate = shared[0];
    p.shared_up = shared[1];
    p.shared_down = shared[2];
  }
  p.out = a.f32(10, "out", p.tokens * p.hidden);
  p.gate = gate.data();
  p.up = up.data();
  p.down = down.data();
  glmkit::moe_experts_forward(p);
  return info.Env().Undefined();
}

const int32_t* checked_ids(const Args& a, size_t i, int64_t& n, int64_t vocab) {
  if (i >= a.info.Length() || !a.info[i].IsTypedArray()) fail(a.env(), a.fn, "argument 'ids' must be an Int32Array");
  n = static_cast<int64_t>(a.info[i].As<Napi::TypedArray>().ElementLength());
  const int32_t* ids = a.i32(i, "ids", n);
  for (int64_t j = 0; j < n; ++j)
    if (ids[j] < 0 || ids[j] >= vocab)
      throw Napi::RangeError::New(a.env(), std::string("glmkit native ") + a.fn + ": token id " +
                                               std::to_string(ids[j]) + " at position " + std::to_string(j) +
                                               " is outside the vocabulary [0, " + std::to_string(vocab) + ")");
  return ids;
}

// embeddingForward(table, ids, out, vocab, dim)
Napi::Value EmbeddingForward(const Napi::CallbackInfo& info) {
  Args a{info, "embeddingForward"};
  int64_t vocab = a.integer(3, "vocab"), dim = a.integer(4, "dim", 1), n = 0;
  const int32_t* ids = checked_ids(a, 1, n, vocab);
  glmkit::embedding_forward(a.f32(0, "table", vocab * dim), ids, a.f32(2, "out", n * dim), n, dim);
  return info.Env().Undefined();
}

// embeddingBackward(ids, dout, dtable, vocab, dim)
Napi::Value EmbeddingBackward(const Napi::CallbackInfo& info) {
  Args a{info, "embeddingBackward"};
  int64_t vocab = a.integer(3, "vocab"), dim = a.integer(4, "dim", 1), n = 0;
  const int32_t* ids = checked_ids(a, 0, n, vocab);
  glmkit::embedding_backward(ids, a.f32(1, "dout", n * dim), a.f32(2, "dtable", vocab * dim), n, vocab, dim);
  return info.Env().Undefined();
}

// adamw(param, grad, m, v, lr, beta1, beta2, eps, weightDecay, step)
Napi::Value AdamW(const Napi::CallbackInfo& info) {
  Args a{info, "adamw"};
  if (!info[0].IsTypedArray()) fail(info.Env(), "adamw", "argument 'param' must be a Float32Array");
  int64_t n = static_cast<int64_t>(info[0].As<Napi::TypedArray>().ElementLength());
  glmkit::adamw(a.f32(0, "param", n), a.f32(1, "grad", n), a.f32(2, "m", n), a.f32(3, "v", n), n, a.number(4, "lr"),
                a.number(5, "beta1"), a.number(6, "beta2"), a.number(7, "eps"), a.number(8, "weightDecay"),
                a.integer(9, "step", 1));
  return info.Env().Undefined();
}

// Test hook: a parallel_for over n ranges whose range `bad` throws after the others have started;
// every range writes its index into `out` (so JavaScript can see they all ran to the end) unless it
// is the one that throws. The exception reaches JavaScript as an Error.
Napi::Value TestThrowInParallel(const Napi::CallbackInfo& info) {
  Args a{info, "_testThrowInParallel"};
  const int64_t n = a.integer(0, "n", 1), bad = a.integer(1, "bad");
  int32_t* out = a.i32(2, "out", n);
  try {
    glmkit::parallel_for(n, 1, [&](int64_t begin, int64_t end, int) {
      for (int64_t i = begin; i < end; ++i) {
        if (i == bad) throw std::runtime_error("chunk " + std::to_string(i) + " failed on purpose");
        volatile double x = 0;
        for (int k = 0; k < 200000; ++k) x = x + k;  // some work, so the other ranges are still running
        out[i] = static_cast<int32_t>(i);
      }
    });
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), std::string("glmkit native _testThrowInParallel: ") + e.what());
  }
  return info.Env().Undefined();
}

// Every tensor is a fresh zeroed ArrayBuffer (calloc). With glibc's defaults a buffer over 128 KiB
// is its own mmap, returned to the kernel when collected, so the next one page-faults in again: at
// the tiny preset's training step that was ~15,000 faults, paid inside the kernels that first write
// the output. Keeping freed memory in the heap (blocks up to 32 MiB from the heap, trim at 512 MiB)
// turns those faults into a memset. GLMKIT_MALLOC_TUNE=0 keeps glibc's defaults.
void TuneMalloc() {
#if defined(__GLIBC__)
  const char* env = std::getenv("GLMKIT_MALLOC_TUNE");
  if (env && std::strcmp(env, "0") == 0) return;
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
  mallopt(M_TOP_PAD, 64 << 20);
#endif
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  TuneMalloc();
  exports.Set("_testThrowInParallel", Napi::Function::New(env, TestThrowInParallel));
  exports.Set("info", Napi::Function::New(env, Info));
  exports.Set("fmaPeak", Napi::Function::New(env, FmaPeak));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads));
  exports.Set("setCallerInline", Napi::Function::New(env, SetCallerInline));
  exports.Set("gemm", Napi::Function::New(env, Gemm));
  exports.Set("gemmBf16", Napi::Function::New(env, GemmBf16));
  exports.Set("gemmPackedSize", Napi::Function::New(env, GemmPackedSize));
  exports.Set("gemmPackWeights", Napi::Function::New(env, GemmPackWeights));
  exports.Set("gemmPrepacked", Napi::Function::New(env, GemmPrepacked));
  exports.Set("rmsnormForward", Napi::Function::New(env, RmsnormForward));
  exports.Set("rmsnormBackward", Napi::Function::New(env, RmsnormBackward));
  exports.Set("layernormForward", Napi::Function::New(env, LayernormForward));
  exports.Set("layernormBackward", Napi::Function::New(env, LayernormBackward));
  exports.Set("geluForward", Napi::Function::New(env, GeluForward));
  exports.Set("geluBackward", Napi::Function::New(env, GeluBackward));
  exports.Set("rope", Napi::Function::New(env, Rope));
  exports.Set("attentionForward", Napi::Function::New(env, AttentionForward));
  exports.Set("attentionBackward", Napi::Function::New(env, AttentionBackward));
  exports.Set("softmaxForward", Napi::Function::New(env, RowwiseForward<glmkit::softmax_forward>));
  exports.Set("softmaxBackward", Napi::Function::New(env, RowwiseBackward<glmkit::softmax_backward>));
  exports.Set("logSoftmaxForward", Napi::Function::New(env, RowwiseForward<glmkit::log_softmax_forward>));
  exports.Set("logSoftmaxBackward", Napi::Function::New(env, RowwiseBackward<glmkit::log_softmax_backward>));
  exports.Set("crossEntropyForward", Napi::Function::New(env, CrossEntropyForward));
  exports.Set("crossEntropyBackward", Napi::Function::New(env, CrossEntropyBackward));
  exports.Set("addForward", Napi::Function::New(env, AddForward));
  exports.Set("mulForward", Napi::Function::New(env, MulForward));
  exports.Set("swigluForward", Napi::Function::New(env, SwigluForward));
  exports.Set("moeExpertsForward", Napi::Function::New(env, MoeExpertsForward));
  exports.Set("swigluBackward", Napi::Function::New(env, SwigluBackward));
  exports.Set("embeddingForward", Napi::Function::New(env, EmbeddingForward));
  exports.Set("embeddingBackward", Napi::Function::New(env, EmbeddingBackward));
  exports.Set("adamw", Napi::Function::New(env, AdamW));
  return exports;
}

}  // namespace

NODE_API_MODULE(glmkit_native, Init)
