// The emulator's kernel executor: CUDA threads as fibers, one block at a time per OS thread, blocks
// spread over the shared worker pool (native/parallel.h). See cuda_emu.h for the model.
//
// A block runs in rounds. In a round every ready thread runs until it blocks (at a barrier or a
// warp collective) or returns; collectives whose lanes have all posted are then computed and their
// lanes made ready again. When no thread can move, either all have returned (the block is done), or
// all live threads wait at one barrier (released together), or the launch is wrong and aborts.
#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "../../native/parallel.h"
#include "cuda_emu.h"

#if !defined(__x86_64__)
#include <ucontext.h>
#endif

// Under AddressSanitizer every stack switch is announced, so it tracks which stack is live (without
// this, a fiber's frames look like overflows of the scheduler's stack).
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#define TF_EMU_ASAN 1
#endif

thread_local uint3 threadIdx;
thread_local uint3 blockIdx;
thread_local dim3 blockDim;
thread_local dim3 gridDim;

// The stack switch: saves the callee-saved registers on the current stack, stores its pointer in
// *save_sp, loads new_sp and restores the registers saved there. A fresh fiber's stack is laid out
// so that the first switch "returns" into tf_emu_fiber_entry.
#if defined(__x86_64__)
extern "C" void tf_emu_switch(void** save_sp, void* new_sp);
extern "C" void tf_emu_fiber_entry();
asm(R"(
.text
.p2align 4
.globl tf_emu_switch
.hidden tf_emu_switch
.type tf_emu_switch,@function
tf_emu_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
.size tf_emu_switch, .-tf_emu_switch
)");
#endif

namespace tf_emu {
namespace {

constexpr size_t kStackBytes = 128 * 1024;
constexpr size_t kGuardBytes = 4096;
constexpr size_t kDefaultMaxSmem = 48 * 1024;

enum class State : uint8_t { Ready, AtBarrier, AtWarp, Done };

struct Fiber {
  State state = State::Ready;
  uint3 tid{};
  const char* file = nullptr;  // where it waits
  int line = 0;
  WarpOp op = WarpOp::Sync;
  unsigned mask = 0;
  uint64_t value = 0, result = 0;
  int param = 0, width = 32;
  void* asan_fake = nullptr;  // AddressSanitizer's fake-stack handle while switched out
#if defined(__x86_64__)
  void* sp = nullptr;
#else
  ucontext_t ctx;
#endif
};

// Per OS thread: the block being run and the fibers' stacks (kept for the next block).
struct Worker {
  std::vector<Fiber> fibers;
  char* stacks = nullptr;
  size_t stack_count = 0;
  int current = -1;
  BlockBody body = nullptr;
  void* closure = nullptr;
  void* dyn_smem = nullptr;
  // The block's static __shared__ arrays (TF_SHARED): one heap block per declaration site.
  std::vector<std::pair<const void*, void*>> static_smem;
  std::string failure;
  void* asan_fake = nullptr;             // the scheduler's, while a fiber runs
  const void* sched_stack = nullptr;     // the scheduler's stack, learnt on the first switch
  size_t sched_stack_size = 0;
#if defined(__x86_64__)
  void* sched_sp = nullptr;
#else
  ucontext_t sched_ctx;
#endif

  bool ensure_stacks(size_t n) {
    if (n <= stack_count) return true;
    if (stacks) munmap(stacks, stack_count * kStackBytes);
    void* p = mmap(nullptr, n * kStackBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
      stacks = nullptr;
      stack_count = 0;
      return false;
    }
    stacks = static_cast<char*>(p);
    stack_count = n;
    // A guard page at the low end of each stack turns an overflow into a fault, not silent corruption.
    for (size_t i = 0; i < n; ++i) mprotect(stacks + i * kStackBytes, kGuardBytes, PROT_NONE);
    return true;
  }
  char* stack_top(size_t i) { return stacks + (i + 1) * kStackBytes; }
  char* stack_bottom(size_t i) { return stacks + i * kStackBytes + kGuardBytes; }
};

thread_local Worker* tls_worker = nullptr;

Worker& worker() {
  if (!tls_worker) tls_worker = new Worker();  // one per OS thread, kept for the process's life
  return *tls_worker;
}

std::atomic<Schedule> g_schedule{Schedule::InOrder};
std::atomic<uint64_t> g_seed{1};
std::mutex g_failure_mutex;
std::string g_last_failure;
std::mutex g_smem_mutex;
std::unordered_map<const void*, int> g_max_smem;

std::string where(const char* file, int line) {
  const char* base = file ? std::strrchr(file, '/') : nullptr;
  return std::string(base ? base + 1 : (file ? file : "?")) + ":" + std::to_string(line);
}
std::string tid_str(const uint3& t) {
  return "(" + std::to_string(t.x) + "," + std::to_string(t.y) + "," + std::to_string(t.z) + ")";
}

void switch_to_fiber(Worker& w, int i) {
  Fiber& f = w.fibers[size_t(i)];
  w.current = i;
  threadIdx = f.tid;
#ifdef TF_EMU_ASAN
  __sanitizer_start_switch_fiber(&w.asan_fake, w.stack_bottom(size_t(i)), kStackBytes - kGuardBytes);
#endif
#if defined(__x86_64__)
  tf_emu_switch(&w.sched_sp, f.sp);
#else
  swapcontext(&w.sched_ctx, &f.ctx);
#endif
#ifdef TF_EMU_ASAN
  __sanitizer_finish_switch_fiber(w.asan_fake, nullptr, nullptr);
#endif
  w.current = -1;
}

// Called on a fiber: back to the block's scheduler (returns when the scheduler resumes this fiber).
// A finished fiber passes `done`, so AddressSanitizer drops its fake stack.
void yield_to_scheduler(bool done = false) {
  Worker& w = *tls_worker;
  Fiber& f = w.fibers[size_t(w.current)];
#ifdef TF_EMU_ASAN
  __sanitizer_start_switch_fiber(done ? nullptr : &f.asan_fake, w.sched_stack, w.sched_stack_size);
#else
  (void)done;
#endif
#if defined(__x86_64__)
  tf_emu_switch(&f.sp, w.sched_sp);
#else
  swapcontext(&f.ctx, &w.sched_ctx);
#endif
#ifdef TF_EMU_ASAN
  __sanitizer_finish_switch_fiber(f.asan_fake, nullptr, nullptr);
#endif
}

}  // namespace
}  // namespace tf_emu

extern "C" void tf_emu_fiber_entry() {
  tf_emu::Worker& w = *tf_emu::tls_worker;
#ifdef TF_EMU_ASAN
  __sanitizer_finish_switch_fiber(nullptr, &w.sched_stack, &w.sched_stack_size);
#endif
  w.body(w.closure);
  w.fibers[size_t(w.current)].state = tf_emu::State::Done;
  tf_emu::yield_to_scheduler(true);
  std::abort();  // a finished fiber is never resumed
}

namespace tf_emu {
namespace {

#if !defined(__x86_64__)
void ucontext_entry() { tf_emu_fiber_entry(); }
#endif

void start_fiber(Worker& w, int i) {
  Fiber& f = w.fibers[size_t(i)];
  char* top = w.stack_top(size_t(i));
#if defined(__x86_64__)
  uint64_t* sp = reinterpret_cast<uint64_t*>(reinterpret_cast<uintptr_t>(top) & ~uintptr_t(15));
  *--sp = 0;                                                 // tf_emu_fiber_entry's return slot (never used)
  *--sp = reinterpret_cast<uint64_t>(&tf_emu_fiber_entry);  // where tf_emu_switch's ret lands
  for (int r = 0; r < 6; ++r) *--sp = 0;                     // rbp, rbx, r12-r15
  f.sp = sp;
#else
  getcontext(&f.ctx);
  f.ctx.uc_stack.ss_sp = top - kStackBytes + kGuardBytes;
  f.ctx.uc_stack.ss_size = kStackBytes - kGuardBytes;
  f.ctx.uc_link = nullptr;
  makecontext(&f.ctx, ucontext_entry, 0);
#endif
}

// The order in which a round visits the threads.
void round_order(std::vector<int>& order, int n, Schedule s, std::mt19937_64& rng, int ahead_warp) {
  order.resize(size_t(n));
  for (int i = 0; i < n; ++i) order[size_t(i)] = i;
  switch (s) {
    case Schedule::InOrder: break;
    case Schedule::Reversed: std::reverse(order.begin(), order.end()); break;
    case Schedule::Random: std::shuffle(order.begin(), order.end(), rng); break;
    case Schedule::WarpAhead:
      std::stable_partition(order.begin(), order.end(), [&](int i) { return i / 32 == ahead_warp; });
      break;
  }
}

// Computes the collectives whose lanes have all posted; returns whether any lane became ready.
// Sets w.failure on a collective that can never complete correctly.
bool resolve_warps(Worker& w, int n) {
  bool progress = false;
  const int warps = (n + 31) / 32;
  for (int wp = 0; wp < warps && w.failure.empty(); ++wp) {
    const int base = wp * 32, lanes = std::min(32, n - base);
    for (int l = 0; l < lanes; ++l) {
      Fiber& f = w.fibers[size_t(base + l)];
      if (f.state != State::AtWarp) continue;
      const unsigned mask = f.mask;
      const std::string site = where(f.file, f.line);
      if (!(mask >> l & 1u)) {
        w.failure = "warp collective at " + site + ": thread " + tid_str(f.tid) + " is not in its own mask";
        return progress;
      }
      if (lanes < 32 && (mask >> lanes) != 0) {
        w.failure = "warp collective at " + site + ": mask names lanes that do not exist in this warp";
        return progress;
      }
      bool ready = true;
      for (int j = 0; j < lanes && ready; ++j) {
        if (!(mask >> j & 1u)) continue;
        const Fiber& g = w.fibers[size_t(base + j)];
        if (g.state == State::Done) {
          w.failure = "warp collective at " + site + ": its mask names lane " + std::to_string(j) + " (thread " +
                      tid_str(g.tid) + "), which has exited";
          return progress;
        }
        if (g.state != State::AtWarp) {
          ready = false;  // still running, or at a barrier (a deadlock, reported by the caller)
        } else if (g.mask != mask || g.op != f.op || g.file != f.file || g.line != f.line) {
          w.failure = "warp collective at " + site + ": lanes of its mask wait at different collectives (" +
                      where(g.file, g.line) + ")";
          return progress;
        }
      }
      if (!ready) continue;
      uint64_t ballot = 0;
      for (int j = 0; j < lanes; ++j)
        if ((mask >> j & 1u) && w.fibers[size_t(base + j)].value != 0) ballot |= uint64_t(1) << j;
      for (int j = 0; j < lanes; ++j) {
        if (!(mask >> j & 1u)) continue;
        Fiber& g = w.fibers[size_t(base + j)];
        const int width = g.width, seg = j - j % width;
        int src = j;
        switch (g.op) {
          case WarpOp::ShflIdx: src = seg + (g.param & (width - 1)); break;
          case WarpOp::ShflUp: src = (j - seg) >= g.param ? j - g.param : j; break;
          case WarpOp::ShflDown: src = (j - seg) + g.param < width ? j + g.param : j; break;
          case WarpOp::ShflXor: src = (j ^ g.param) < seg + width ? (j ^ g.param) : j; break;
          default: break;
        }
        switch (g.op) {
          case WarpOp::Sync: g.result = 0; break;
          case WarpOp::Ballot: g.result = ballot; break;
          case WarpOp::Any: g.result = ballot != 0; break;
          case WarpOp::All: g.result = ballot == (mask & (lanes == 32 ? ~0u : ((1u << lanes) - 1))); break;
          default:
            if (src < 0 || src >= lanes || !(mask >> src & 1u)) {
              w.failure = "shuffle at " + site + ": lane " + std::to_string(j) + " reads lane " +
                          std::to_string(src) + ", which is not in the mask";
              return progress;
            }
            g.result = w.fibers[size_t(base + src)].value;
        }
      }
      for (int j = 0; j < lanes; ++j)
        if (mask >> j & 1u) w.fibers[size_t(base + j)].state = State::Ready;
      progress = true;
    }
  }
  return progress;
}

// Runs rounds over `order` (or over the lanes of one warp) until nothing can move.
void run_rounds(Worker& w, int n, const std::vector<int>& order, int only_warp) {
  for (;;) {
    bool progress = false;
    for (int i : order) {
      if (only_warp >= 0 && i / 32 != only_warp) continue;
      if (w.fibers[size_t(i)].state != State::Ready) continue;
      switch_to_fiber(w, i);
      progress = true;
      if (!w.failure.empty()) return;
    }
    if (resolve_warps(w, n)) progress = true;
    if (!w.failure.empty() || !progress) return;
  }
}

// Runs one block to completion; returns false (with w.failure set) when the launch must abort.
bool run_block(Worker& w, int n, Schedule s, std::mt19937_64& rng) {
  for (int i = 0; i < n; ++i) {
    Fiber& f = w.fibers[size_t(i)];
    f = Fiber{};
    f.tid = uint3{unsigned(i) % blockDim.x, unsigned(i) / blockDim.x % blockDim.y, unsigned(i) / (blockDim.x * blockDim.y)};
    start_fiber(w, i);
  }
  std::vector<int> order;
  const int warps = (n + 31) / 32;
  const int ahead = s == Schedule::WarpAhead ? int(rng() % uint64_t(warps)) : -1;
  for (;;) {
    round_order(order, n, s, rng, ahead);
    if (ahead >= 0) run_rounds(w, n, order, ahead);
    run_rounds(w, n, order, -1);
    if (!w.failure.empty()) return false;
    int done = 0, at_barrier = 0, first = -1;
    for (int i = 0; i < n; ++i) {
      const Fiber& f = w.fibers[size_t(i)];
      if (f.state == State::Done) done++;
      if (f.state == State::AtBarrier) {
        at_barrier++;
        if (first < 0) first = i;
      }
      if (f.state == State::AtWarp) {
        w.failure = "deadlock: thread " + tid_str(f.tid) + " waits at the warp collective at " + where(f.file, f.line) +
                    " for lanes that wait elsewhere";
        return false;
      }
    }
    if (done == n) return true;
    const Fiber& b = w.fibers[size_t(first)];
    if (done > 0) {
      w.failure = "__syncthreads at " + where(b.file, b.line) + " is reached by " + std::to_string(at_barrier) +
                  " threads while " + std::to_string(done) + " have already returned";
      return false;
    }
    for (int i = 0; i < n; ++i) {
      const Fiber& f = w.fibers[size_t(i)];
      if (f.file != b.file || f.line != b.line) {
        w.failure = "threads wait at different barriers: " + tid_str(b.tid) + " at " + where(b.file, b.line) + ", " +
                    tid_str(f.tid) + " at " + where(f.file, f.line);
        return false;
      }
    }
    for (int i = 0; i < n; ++i) w.fibers[size_t(i)].state = State::Ready;
  }
}

void set_failure(const std::string& msg) {
  std::lock_guard<std::mutex> lock(g_failure_mutex);
  if (g_last_failure.empty()) g_last_failure = msg;
}

}  // namespace

void set_schedule(Schedule s, uint64_t seed) {
  g_schedule = s;
  g_seed = seed;
}
Schedule schedule() { return g_schedule; }

const char* last_failure() {
  thread_local std::string copy;
  std::lock_guard<std::mutex> lock(g_failure_mutex);
  copy = g_last_failure;
  return copy.c_str();
}

void set_max_dynamic_smem(const void* kernel_key, int bytes) {
  std::lock_guard<std::mutex> lock(g_smem_mutex);
  g_max_smem[kernel_key] = bytes;
}

void* dynamic_smem() { return tls_worker ? tls_worker->dyn_smem : nullptr; }

[[noreturn]] void abort_launch(const std::string& why, const char* file, int line);

void* static_smem(const void* site, size_t bytes, size_t align) {
  Worker& w = worker();
  for (const auto& e : w.static_smem)
    if (e.first == site) return e.second;
  void* p = nullptr;
  if (posix_memalign(&p, align < 64 ? 64 : align, bytes > 0 ? bytes : 1) != 0) {
    abort_launch("cannot allocate " + std::to_string(bytes) + " bytes of shared memory", __FILE__, __LINE__);
  }
  std::memset(p, 0xff, bytes);  // uninitialised reads give NaN, as with dynamic shared memory
  w.static_smem.emplace_back(site, p);
  return p;
}

void syncthreads(const char* file, int line) {
  Worker* w = tls_worker;
  if (!w || w->current < 0) std::abort();  // called outside a kernel
  Fiber& f = w->fibers[size_t(w->current)];
  f.state = State::AtBarrier;
  f.file = file;
  f.line = line;
  yield_to_scheduler();
  threadIdx = f.tid;
}

uint64_t warp_collective(WarpOp op, unsigned mask, uint64_t value, int param, int width, const char* file, int line) {
  Worker* w = tls_worker;
  if (!w || w->current < 0) std::abort();
  Fiber& f = w->fibers[size_t(w->current)];
  if (width <= 0 || width > 32 || (width & (width - 1)) != 0) {
    if (w->failure.empty()) w->failure = "warp collective at " + where(file, line) + ": width must be a power of two <= 32";
  }
  f.state = State::AtWarp;
  f.op = op;
  f.mask = mask;
  f.value = value;
  f.param = param;
  f.width = width;
  f.file = file;
  f.line = line;
  yield_to_scheduler();
  threadIdx = f.tid;
  return f.result;
}

void abort_launch(const std::string& why, const char* file, int line) {
  Worker* w = tls_worker;
  if (!w || w->current < 0) std::abort();
  if (w->failure.empty()) w->failure = why + " (at " + where(file, line) + ")";
  w->fibers[size_t(w->current)].state = State::Done;
  yield_to_scheduler(true);
  std::abort();  // never resumed: the block is abandoned
}

void warp_converged(const char* what, const char* file, int line) {
  Worker* w = tls_worker;
  if (!w || w->current < 0) std::abort();
  const int n = int(blockDim.x * blockDim.y * blockDim.z);
  if (w->current / 32 * 32 + 32 > n) abort_launch(std::string(what) + " needs whole warps (the block has " + std::to_string(n) + " threads)", file, line);
  warp_collective(WarpOp::Sync, 0xffffffffu, 0, 0, 32, file, line);
}

unsigned active_mask() {
  Worker* w = tls_worker;
  if (!w || w->current < 0) std::abort();
  const int n = int(blockDim.x * blockDim.y * blockDim.z);
  const int base = w->current / 32 * 32;
  unsigned m = 0;
  for (int j = 0; j < 32 && base + j < n; ++j)
    if (w->fibers[size_t(base + j)].state != State::Done) m |= 1u << j;
  return m;
}

// Set by runtime.cpp: records the error a launch returns through cudaGetLastError.
void record_launch_error(cudaError_t e);

void launch(const char* kernel_name, const void* kernel_key, dim3 grid, dim3 block, size_t smem, cudaStream_t,
            BlockBody body, void* closure) {
  {
    std::lock_guard<std::mutex> lock(g_failure_mutex);
    g_last_failure.clear();  // the diagnostic describes the latest launch only
  }
  const uint64_t threads = uint64_t(block.x) * block.y * block.z;
  if (block.x == 0 || block.y == 0 || block.z == 0 || threads > 1024 || block.z > 64 || grid.x == 0 || grid.y == 0 ||
      grid.z == 0 || grid.x > 2147483647u || grid.y > 65535 || grid.z > 65535) {
    set_failure(std::string("launch of ") + kernel_name + ": invalid configuration (grid " + std::to_string(grid.x) +
                "x" + std::to_string(grid.y) + "x" + std::to_string(grid.z) + ", block " + std::to_string(block.x) + "x" +
                std::to_string(block.y) + "x" + std::to_string(block.z) + ")");
    record_launch_error(cudaErrorInvalidConfiguration);
    return;
  }
  size_t max_smem = kDefaultMaxSmem;
  {
    std::lock_guard<std::mutex> lock(g_smem_mutex);
    auto it = g_max_smem.find(kernel_key);
    if (it != g_max_smem.end()) max_smem = std::max(max_smem, size_t(it->second));
  }
  if (smem > max_smem) {
    set_failure(std::string("launch of ") + kernel_name + ": " + std::to_string(smem) +
                " bytes of dynamic shared memory exceed the kernel's limit of " + std::to_string(max_smem) +
                " (raise it with cudaFuncSetAttribute)");
    record_launch_error(cudaErrorInvalidValue);
    return;
  }
  const int n = int(threads);
  const int64_t blocks = int64_t(grid.x) * grid.y * grid.z;
  const Schedule s = g_schedule;
  const uint64_t seed = g_seed;
  std::atomic<bool> failed{false};
  tf::parallel_for(0, blocks, 1, [&](int64_t lo, int64_t hi) {
    Worker& w = worker();
    if (!w.ensure_stacks(size_t(n))) {
      set_failure(std::string("launch of ") + kernel_name + ": cannot map fiber stacks");
      failed = true;
      return;
    }
    w.fibers.resize(size_t(std::max<size_t>(w.fibers.size(), size_t(n))));
    w.body = body;
    w.closure = closure;
    gridDim = grid;
    blockDim = block;
    for (int64_t b = lo; b < hi && !failed; ++b) {
      blockIdx = uint3{unsigned(b % grid.x), unsigned(b / grid.x % grid.y), unsigned(b / (int64_t(grid.x) * grid.y))};
      std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ull + uint64_t(b));
      w.dyn_smem = std::malloc(smem > 0 ? smem : 1);
      std::memset(w.dyn_smem, 0xff, smem);
      w.failure.clear();
      const bool ok = run_block(w, n, s, rng);
      std::free(w.dyn_smem);
      w.dyn_smem = nullptr;
      for (const auto& e : w.static_smem) std::free(e.second);
      w.static_smem.clear();
      if (!ok) {
        set_failure(std::string("kernel ") + kernel_name + ", block (" + std::to_string(blockIdx.x) + "," +
                    std::to_string(blockIdx.y) + "," + std::to_string(blockIdx.z) + "): " + w.failure);
        failed = true;
      }
    }
  });
  if (failed) record_launch_error(cudaErrorLaunchFailure);
}

}  // namespace tf_emu
