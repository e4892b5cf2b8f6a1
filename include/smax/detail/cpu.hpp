// Run-time CPU feature detection. Deliberately outside every target region: this
// code runs before we know which instructions are safe.
#pragma once

#include "config.hpp"

#if SMAX_ARCH_X86_64
#include <cpuid.h>
#endif

namespace smax {
inline namespace SMAX_ABI {
namespace detail {

struct cpu_features {
  bool sse2 = false;
  bool avx2 = false;         // AVX2 + FMA + F16C, with YMM state saved by the OS
  bool avx512 = false;       // F + DQ + BW + VL, with ZMM and opmask state saved
  bool avx512_bf16 = false;  // only meaningful when avx512 is true
  bool avx512_fp16 = false;
  bool neon = false;
};

#if SMAX_ARCH_X86_64

inline unsigned long long read_xcr0() noexcept {
  unsigned eax = 0, edx = 0;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<unsigned long long>(edx) << 32) | eax;
}

inline cpu_features detect_cpu() noexcept {
  cpu_features f;
  f.sse2 = true;  // part of x86-64
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return f;
  const bool fma = (ecx >> 12) & 1, osxsave = (ecx >> 27) & 1, avx = (ecx >> 28) & 1, f16c = (ecx >> 29) & 1;
  // CPUID alone is not enough: the OS must save the wider registers on context
  // switches (XCR0), or a kernel using them would corrupt other threads' state.
  if (!osxsave || !avx) return f;
  const unsigned long long xcr0 = read_xcr0();
  const bool os_ymm = (xcr0 & 0x6) == 0x6;    // SSE and AVX state
  const bool os_zmm = (xcr0 & 0xe6) == 0xe6;  // plus opmask, ZMM_Hi256, Hi16_ZMM
  const unsigned max_leaf = static_cast<unsigned>(__get_cpuid_max(0, nullptr));
  if (max_leaf < 7) return f;
  __cpuid_count(7, 0, eax, ebx, ecx, edx);
  const bool avx2 = (ebx >> 5) & 1;
  const bool avx512f = (ebx >> 16) & 1, avx512dq = (ebx >> 17) & 1, avx512bw = (ebx >> 30) & 1,
             avx512vl = (ebx >> 31) & 1;
  const bool avx512fp16 = (edx >> 23) & 1;
  const unsigned leaf7_subleaves = eax;
  f.avx2 = os_ymm && avx2 && fma && f16c;
  f.avx512 = f.avx2 && os_zmm && avx512f && avx512dq && avx512bw && avx512vl;
  f.avx512_fp16 = f.avx512 && avx512fp16;
  if (f.avx512 && leaf7_subleaves >= 1) {
    __cpuid_count(7, 1, eax, ebx, ecx, edx);
    f.avx512_bf16 = (eax >> 5) & 1;
  }
  return f;
}

#elif SMAX_ARCH_AARCH64

inline cpu_features detect_cpu() noexcept {
  cpu_features f;
  f.neon = true;  // Advanced SIMD is mandatory in ARMv8-A
  return f;
}

#else

inline cpu_features detect_cpu() noexcept { return {}; }

#endif

inline const cpu_features& cpu() noexcept {
  static const cpu_features features = detect_cpu();
  return features;
}

}  // namespace detail
}  // namespace SMAX_ABI
}  // namespace smax
