// Array conversions between float and the two-byte storage types, on the
// active ISA path (detail::current_isa(), so smax::scoped_isa and SMAX_ISA
// choose it as they do for the kernels). Every path gives the same bits:
//  - to_float is exact (see smax::bfloat16 and smax::half for NaN payloads);
//  - from_float rounds to nearest, ties to even, with subnormals, overflow to
//    infinity and NaNs as documented on the types; integer or immediate-mode
//    rounding throughout, so the floating-point environment does not matter.
// Status flags are not part of the contract: the integer code raises none,
// F16C's vcvtps2ph (avx2, avx512) raises inexact, underflow and, for a
// signalling NaN, invalid, as an IEEE conversion does, and the SSE2 half path
// may raise inexact; kernels run under fp_env_guard, which restores them. Kernels inside an ISA region can call that
// ISA's versions (or its widen_load / narrow_store register helpers) directly, e.g. avx2::to_float.
#pragma once

#include <cstddef>

#include "../arch/convert_avx2.hpp"
#include "../arch/convert_avx512.hpp"
#include "../arch/convert_neon.hpp"
#include "../arch/convert_scalar.hpp"
#include "../arch/convert_sse2.hpp"
#include "../isa.hpp"
#include "../types.hpp"

namespace smax {
inline namespace SMAX_ABI {
namespace detail {

// n elements from `in` to `out` (bfloat16 or half, each ISA overloads both);
// the two must not overlap. One switch per direction: the ISA list lives here
// once, as in active_kernel.
template <class Two>
inline void to_float(const Two* in, float* out, std::size_t n) {
  switch (current_isa()) {
#if SMAX_ARCH_X86_64 && SMAX_WITH_SSE2
    case isa::sse2: return sse2::to_float(in, out, n);
#endif
#if SMAX_ARCH_X86_64 && SMAX_WITH_AVX2
    case isa::avx2: return avx2::to_float(in, out, n);
#endif
#if SMAX_ARCH_X86_64 && SMAX_WITH_AVX512
    case isa::avx512: return avx512::to_float(in, out, n);
#endif
#if SMAX_ARCH_AARCH64 && SMAX_WITH_NEON
    case isa::neon: return neon::to_float(in, out, n);
#endif
    default: return scalar::to_float(in, out, n);
  }
}

template <class Two>
inline void from_float(const float* in, Two* out, std::size_t n) {
  switch (current_isa()) {
#if SMAX_ARCH_X86_64 && SMAX_WITH_SSE2
    case isa::sse2: return sse2::from_float(in, out, n);
#endif
#if SMAX_ARCH_X86_64 && SMAX_WITH_AVX2
    case isa::avx2: return avx2::from_float(in, out, n);
#endif
#if SMAX_ARCH_X86_64 && SMAX_WITH_AVX512
    case isa::avx512: return avx512::from_float(in, out, n);  // AVX-512 BF16 for bfloat16 when the CPU has it
#endif
#if SMAX_ARCH_AARCH64 && SMAX_WITH_NEON
    case isa::neon: return neon::from_float(in, out, n);
#endif
    default: return scalar::from_float(in, out, n);
  }
}

}  // namespace detail
}  // namespace SMAX_ABI
}  // namespace smax
