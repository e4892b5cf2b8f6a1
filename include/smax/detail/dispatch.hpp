// The registry of compiled ISA paths and the process-wide choice among them.
// Included by isa.hpp after the isa enum is defined.
#pragma once

#include <atomic>
#include <cstdlib>
#include <string>

#include "../arch/avx2.hpp"
#include "../arch/avx512.hpp"
#include "../arch/scalar.hpp"
#include "../arch/sse2.hpp"
#include "../error.hpp"
#include "cpu.hpp"
#include "kernel_table.hpp"

namespace smax::detail {

inline constexpr isa kAllIsas[] = {isa::scalar, isa::sse2, isa::avx2, isa::avx512, isa::neon};

// The kernels compiled for `which` on this architecture, or nullptr.
inline const kernel_table* compiled_table(isa which) noexcept {
  switch (which) {
    case isa::scalar: return &scalar::table;
#if SMAX_ARCH_X86_64
    case isa::sse2: return &sse2::table;
    case isa::avx2: return &avx2::table;
    case isa::avx512: return &avx512::table;
#endif
    default: return nullptr;
  }
}

inline bool cpu_supports(isa which) noexcept {
  const cpu_features& f = cpu();
  switch (which) {
    case isa::scalar: return true;
    case isa::sse2: return f.sse2;
    case isa::avx2: return f.avx2;
    case isa::avx512: return f.avx512;
    case isa::neon: return f.neon;
  }
  return false;
}

inline bool runs_here(isa which) noexcept { return compiled_table(which) != nullptr && cpu_supports(which); }

inline std::string available_list() {
  std::string list;
  for (isa which : kAllIsas) {
    if (!runs_here(which)) continue;
    if (!list.empty()) list += ", ";
    list += isa_name(which);
  }
  return list;
}

inline isa best_isa() noexcept {
  isa best = isa::scalar;
  for (isa which : kAllIsas) {
    if (runs_here(which)) best = which;  // kAllIsas is ordered by preference per architecture
  }
  return best;
}

// The ISA named by SMAX_ISA, or the best one when it is unset or empty.
inline isa isa_from_environment() {
  const char* requested = std::getenv("SMAX_ISA");
  if (requested == nullptr || *requested == '\0') return best_isa();
  for (isa which : kAllIsas) {
    if (std::string(requested) != isa_name(which)) continue;
    if (runs_here(which)) return which;
    (void)report_error(std::string("smax: SMAX_ISA=") + requested +
                       " is not available on this machine (available: " + available_list() + ")");
    return best_isa();
  }
  (void)report_error(std::string("smax: SMAX_ISA=") + requested +
                     " is not an ISA smax knows (known: scalar, sse2, avx2, avx512, neon)");
  return best_isa();
}

// Initialised on first use. If SMAX_ISA is invalid the initialisation throws,
// and C++ retries it (and throws again) on the next use.
inline std::atomic<isa>& active_isa_slot() {
  static std::atomic<isa> slot{isa_from_environment()};
  return slot;
}

template <class T>
inline const row_kernels<T>& active_kernels() {
  return kernels_of<T>(*compiled_table(active_isa_slot().load(std::memory_order_relaxed)));
}

}  // namespace smax::detail
