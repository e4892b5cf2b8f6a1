// Which SIMD path runs, and how to choose one.
#pragma once

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "error.hpp"

namespace smax {

/// The instruction-set paths smax has kernels for. Every path computes the same
/// functions within the same documented bounds; they differ in speed (and, by
/// at most those bounds, in the last bits of results).
///  - scalar: portable C++, one element at a time; always available.
///  - sse2:   x86-64 baseline.
///  - avx2:   AVX2 + FMA + F16C.
///  - avx512: AVX-512 F, DQ, BW and VL.
///  - neon:   AArch64 Advanced SIMD.
enum class isa { scalar, sse2, avx2, avx512, neon };

inline namespace SMAX_ABI {

/// Lower-case name of an ISA ("scalar", "sse2", "avx2", "avx512", "neon"), as
/// accepted by the SMAX_ISA environment variable.
constexpr const char* isa_name(isa which) noexcept {
  switch (which) {
    case isa::scalar: return "scalar";
    case isa::sse2: return "sse2";
    case isa::avx2: return "avx2";
    case isa::avx512: return "avx512";
    case isa::neon: return "neon";
  }
  return "unknown";
}

}  // namespace SMAX_ABI
}  // namespace smax

#include "detail/dispatch.hpp"

namespace smax {
inline namespace SMAX_ABI {

/// The ISAs that are compiled into this build for this architecture and that
/// the running CPU and OS support, from the most portable to the fastest.
inline std::vector<isa> available_isas() {
  std::vector<isa> result;
  for (isa which : detail::kAllIsas) {
    if (detail::runs_here(which)) result.push_back(which);
  }
  return result;
}

/// The ISA the next call will use. On first use this is the fastest available
/// one, unless the environment variable SMAX_ISA names another: an unknown or
/// unavailable name is reported as smax::error by that first call (and by
/// every later one until it is fixed), never ignored.
inline isa active_isa() { return detail::current_isa(); }

/// Selects the ISA for all later calls from every thread.
/// Throws smax::error if `which` is not in available_isas().
inline void set_isa(isa which) {
  if (!detail::runs_here(which)) {
    (void)detail::report_error(std::string("smax::set_isa: ") + isa_name(which) +
                               " is not available here (available: " + detail::available_list() + ")");
    return;
  }
  shared_state::active_isa.store(static_cast<int>(which), std::memory_order_relaxed);
}

/// Selects an ISA for the lifetime of the object, then restores the previous
/// one. Process-wide, like set_isa: meant for tests and benchmarks that sweep
/// ISAs, not for concurrent use from threads wanting different paths.
class scoped_isa {
 public:
  explicit scoped_isa(isa which) : previous_(active_isa()) { set_isa(which); }
  ~scoped_isa() { shared_state::active_isa.store(static_cast<int>(previous_), std::memory_order_relaxed); }
  scoped_isa(const scoped_isa&) = delete;
  scoped_isa& operator=(const scoped_isa&) = delete;

 private:
  isa previous_;
};

}  // namespace SMAX_ABI
}  // namespace smax
