// Puts the floating-point environment in the state the kernels' error analysis
// assumes (round to nearest, subnormals kept, no traps) for the duration of one
// call, and restores the caller's state, sticky flags included, afterwards.
#pragma once

#include "config.hpp"

#if SMAX_ARCH_X86_64
#include <xmmintrin.h>
#endif

namespace smax {
inline namespace SMAX_ABI {
namespace detail {

#if SMAX_ARCH_X86_64

class fp_env_guard {
 public:
  // MXCSR: all exceptions masked, round to nearest, FTZ and DAZ off, no flags.
  static constexpr unsigned kKernelState = 0x1f80;

  fp_env_guard() noexcept : saved_(_mm_getcsr()) {
    if (saved_ != kKernelState) _mm_setcsr(kKernelState);
  }
  ~fp_env_guard() { _mm_setcsr(saved_); }
  fp_env_guard(const fp_env_guard&) = delete;
  fp_env_guard& operator=(const fp_env_guard&) = delete;

 private:
  unsigned saved_;
};

#elif SMAX_ARCH_AARCH64

class fp_env_guard {
 public:
  fp_env_guard() noexcept {
    __asm__ volatile("mrs %0, fpcr" : "=r"(saved_fpcr_));
    __asm__ volatile("mrs %0, fpsr" : "=r"(saved_fpsr_));
    // FPCR = 0: round to nearest, no flush-to-zero, no default-NaN, no traps.
    if (saved_fpcr_ != 0) __asm__ volatile("msr fpcr, %0" : : "r"(0UL));
  }
  ~fp_env_guard() {
    __asm__ volatile("msr fpcr, %0" : : "r"(saved_fpcr_));
    __asm__ volatile("msr fpsr, %0" : : "r"(saved_fpsr_));
  }
  fp_env_guard(const fp_env_guard&) = delete;
  fp_env_guard& operator=(const fp_env_guard&) = delete;

 private:
  unsigned long saved_fpcr_ = 0;
  unsigned long saved_fpsr_ = 0;
};

#else

class fp_env_guard {};

#endif

}  // namespace detail
}  // namespace SMAX_ABI
}  // namespace smax
