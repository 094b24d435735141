// Picks the kernel table for this CPU at load time: the widest level that both this build has and
// the CPU supports (checked with CPUID through __builtin_cpu_supports, never the build machine's
// flags). TENSORFORGE_CPU_ARCH=avx512|avx2|generic pins a level, e.g. to test every variant on one
// machine.
#include <cstdlib>
#include <cstring>

#include "kernels.h"

namespace tf {
#ifdef TF_HAVE_LEVEL_generic
namespace generic { void register_all(KernelTable& t); }
#endif
#ifdef TF_HAVE_LEVEL_avx2
namespace avx2 { void register_all(KernelTable& t); }
#endif
#ifdef TF_HAVE_LEVEL_avx512
namespace avx512 { void register_all(KernelTable& t); }
#endif

namespace {

struct Level {
  const char* name;
  void (*register_all)(KernelTable&);
  bool (*supported)();
};

#if defined(__x86_64__) || defined(_M_X64)
bool cpu_has_avx512() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma");
}
bool cpu_has_avx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
}
#endif
bool always() { return true; }

// Best first.
const Level kLevels[] = {
#ifdef TF_HAVE_LEVEL_avx512
    {"avx512", avx512::register_all, cpu_has_avx512},
#endif
#ifdef TF_HAVE_LEVEL_avx2
    {"avx2", avx2::register_all, cpu_has_avx2},
#endif
    {"generic", generic::register_all, always},
};

KernelTable g_table;
bool g_ready = false;

bool install(const char* name) {
  for (const Level& l : kLevels) {
    if (std::strcmp(l.name, name) == 0 && l.supported()) {
      KernelTable t{};
      l.register_all(t);
      t.level = l.name;
      g_table = t;
      g_ready = true;
      return true;
    }
  }
  return false;
}

void init() {
  const char* pinned = std::getenv("TENSORFORGE_CPU_ARCH");
  if (pinned && *pinned && install(pinned)) return;
  for (const Level& l : kLevels) {
    if (l.supported() && install(l.name)) return;
  }
}

}  // namespace

const KernelTable& kernels() {
  if (!g_ready) init();
  return g_table;
}

bool select_kernel_level(const char* name) { return install(name); }

int available_kernel_levels(const char** names, int max) {
  int n = 0;
  for (const Level& l : kLevels) {
    if (n < max && l.supported()) names[n++] = l.name;
  }
  return n;
}

}  // namespace tf
