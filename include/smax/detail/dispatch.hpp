// The registry of compiled ISA paths and the process-wide choice among them.
// Included by isa.hpp after the isa enum is defined.
#pragma once

#include <atomic>
#include <cstdlib>
#include <string>

#include "../arch/avx2.hpp"
#include "../arch/avx512.hpp"
#include "../arch/neon.hpp"
#include "../arch/scalar.hpp"
#include "../arch/sse2.hpp"
#include "../error.hpp"
#include "cpu.hpp"
#include "kernel_table.hpp"
#include "state.hpp"

namespace smax {
inline namespace SMAX_ABI {
namespace detail {

inline constexpr isa kAllIsas[] = {isa::scalar, isa::sse2, isa::avx2, isa::avx512, isa::neon};

// Whether kernels for `which` are compiled for this architecture.
constexpr bool compiled(isa which) noexcept {
  switch (which) {
    case isa::scalar: return true;
    case isa::sse2: return SMAX_ARCH_X86_64 && SMAX_WITH_SSE2;
    case isa::avx2: return SMAX_ARCH_X86_64 && SMAX_WITH_AVX2;
    case isa::avx512: return SMAX_ARCH_X86_64 && SMAX_WITH_AVX512;
    case isa::neon: return SMAX_ARCH_AARCH64 && SMAX_WITH_NEON;
  }
  return false;
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

inline bool runs_here(isa which) noexcept { return compiled(which) && cpu_supports(which); }

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

// The ISA named by SMAX_ISA, or the best one when it is unset or empty. An
// unknown or unavailable name is reported; if the report returns (exceptions
// disabled), `out` is the best ISA and the result false.
inline bool isa_from_environment(isa& out) {
  out = best_isa();
  const char* requested = std::getenv("SMAX_ISA");
  if (requested == nullptr || *requested == '\0') return true;
  for (isa which : kAllIsas) {
    if (std::string(requested) != isa_name(which)) continue;
    if (runs_here(which)) {
      out = which;
      return true;
    }
    return report_error(std::string("smax: SMAX_ISA=") + requested +
                        " is not available on this machine (available: " + available_list() + ")");
  }
  return report_error(std::string("smax: SMAX_ISA=") + requested +
                      " is not an ISA smax knows (known: scalar, sse2, avx2, avx512, neon)");
}

// The active ISA: chosen on first use (from SMAX_ISA or the CPU) and kept in
// the process-wide state. An invalid SMAX_ISA is reported on every call until
// it is fixed: nothing is stored, so the next call reads it again.
inline isa current_isa() {
  int chosen = shared_state::active_isa.load(std::memory_order_relaxed);
  if (chosen < 0) {
    isa from_environment;
    if (!isa_from_environment(from_environment)) return from_environment;
    int expected = -1;
    if (shared_state::active_isa.compare_exchange_strong(expected, static_cast<int>(from_environment))) {
      return from_environment;
    }
    chosen = expected;  // another thread chose first
  }
  return static_cast<isa>(chosen);
}

// ISA `which`'s kernel for operation Op on T (scalar's when `which` is not
// compiled). A caller that needs several kernels takes them all for one
// current_isa(), so a concurrent set_isa cannot mix paths within a call.
template <class Op, class T>
typename Op::template fn<T> kernel_for(isa which) {
  switch (which) {
#if SMAX_ARCH_X86_64
#if SMAX_WITH_SSE2
    case isa::sse2: return sse2::kernel<Op, T>();
#endif
#if SMAX_WITH_AVX2
    case isa::avx2: return avx2::kernel<Op, T>();
#endif
#if SMAX_WITH_AVX512
    case isa::avx512: return avx512::kernel<Op, T>();
#endif
#endif
#if SMAX_ARCH_AARCH64 && SMAX_WITH_NEON
    case isa::neon: return neon::kernel<Op, T>();
#endif
    default: return scalar::kernel<Op, T>();
  }
}

// The active ISA's kernel for operation Op on T.
template <class Op, class T>
typename Op::template fn<T> active_kernel() {
  return kernel_for<Op, T>(current_isa());
}

}  // namespace detail
}  // namespace SMAX_ABI
}  // namespace smax
