// Compiler and architecture plumbing shared by every smax header.
#pragma once

#include <cstddef>

#if defined(__x86_64__) || defined(_M_X64)
#define SMAX_ARCH_X86_64 1
#else
#define SMAX_ARCH_X86_64 0
#endif

#if defined(__aarch64__) || defined(_M_ARM64)
#define SMAX_ARCH_AARCH64 1
#else
#define SMAX_ARCH_AARCH64 0
#endif

// The SIMD paths compiled in: by default every one the architecture has.
// Defining one to 0 (e.g. -DSMAX_WITH_SSE2=0) leaves its kernels out of every
// translation unit, for smaller binaries and faster builds; available_isas()
// then omits it. Use the same settings in every unit of a program. The
// scalar path is always there.
#if !defined(SMAX_WITH_SSE2)
#define SMAX_WITH_SSE2 SMAX_ARCH_X86_64
#endif
#if !defined(SMAX_WITH_AVX2)
#define SMAX_WITH_AVX2 SMAX_ARCH_X86_64
#endif
#if !defined(SMAX_WITH_AVX512)
#define SMAX_WITH_AVX512 SMAX_ARCH_X86_64
#endif
#if !defined(SMAX_WITH_NEON)
#define SMAX_WITH_NEON SMAX_ARCH_AARCH64
#endif

#if !defined(__GNUC__) && !defined(__clang__)
#error "smax needs GCC or Clang (it relies on per-function target attributes)"
#endif

#define SMAX_STRINGIFY(x) #x

// Each ISA's kernels are compiled under their own target attributes, whatever
// flags the including translation unit uses, so no -m flag is ever required.
// Clang's attribute pragma does not reach lambdas, so kernels use named functors.
#if defined(__clang__)
#define SMAX_TARGET_PUSH(targets) \
  _Pragma(SMAX_STRINGIFY(clang attribute push(__attribute__((target(targets))), apply_to = function)))
#define SMAX_TARGET_POP _Pragma("clang attribute pop")
#else
#define SMAX_TARGET_PUSH(targets) _Pragma("GCC push_options") _Pragma(SMAX_STRINGIFY(GCC target(targets)))
#define SMAX_TARGET_POP _Pragma("GCC pop_options")
#endif

// GCC 12's AVX-512 intrinsics initialise "undefined" registers from themselves,
// which -Wmaybe-uninitialized, or in some callers -Wuninitialized (the float
// row sum's _mm512_reduce_add_pd in a kernel of its own), reports in the caller
// once they are inlined (GCC bug 105593), and at -O0 some intrinsic macros pass
// (__mmask8)-1 through a char, which -Wsign-conversion reports at our call. The
// suppression covers smax's own ISA regions only.
#if defined(__GNUC__) && !defined(__clang__)
#define SMAX_DIAGNOSTICS_PUSH                                                                \
  _Pragma("GCC diagnostic push") _Pragma("GCC diagnostic ignored \"-Wmaybe-uninitialized\"") \
      _Pragma("GCC diagnostic ignored \"-Wuninitialized\"") _Pragma("GCC diagnostic ignored \"-Wsign-conversion\"")
#define SMAX_DIAGNOSTICS_POP _Pragma("GCC diagnostic pop")
#else
#define SMAX_DIAGNOSTICS_PUSH
#define SMAX_DIAGNOSTICS_POP
#endif

// Every smax function lives in an inline namespace named after the ISA
// extensions the including translation unit was compiled with. Two TUs built
// with different -m flags (one plain, one -mavx2, say) then never share a copy
// of any smax function: without this, the linker would keep one copy of each
// inline function, compiled with whichever flags it met first, and a plain TU
// could end up running AVX2 code. Types (smax::error, matrix_view, options) and
// the process-wide state (state.hpp: data only, no code) are outside it, so they
// are the same in every TU.
#define SMAX_CAT_(a, b) a##b
#define SMAX_CAT(a, b) SMAX_CAT_(a, b)
#if defined(__SSE3__)
#define SMAX_ABI_SSE3 _sse3
#else
#define SMAX_ABI_SSE3
#endif
#if defined(__SSSE3__)
#define SMAX_ABI_SSSE3 _ssse3
#else
#define SMAX_ABI_SSSE3
#endif
#if defined(__SSE4_1__)
#define SMAX_ABI_SSE41 _sse41
#else
#define SMAX_ABI_SSE41
#endif
#if defined(__SSE4_2__)
#define SMAX_ABI_SSE42 _sse42
#else
#define SMAX_ABI_SSE42
#endif
#if defined(__AVX__)
#define SMAX_ABI_AVX _avx
#else
#define SMAX_ABI_AVX
#endif
#if defined(__AVX2__)
#define SMAX_ABI_AVX2 _avx2
#else
#define SMAX_ABI_AVX2
#endif
#if defined(__FMA__)
#define SMAX_ABI_FMA _fma
#else
#define SMAX_ABI_FMA
#endif
#if defined(__F16C__)
#define SMAX_ABI_F16C _f16c
#else
#define SMAX_ABI_F16C
#endif
#if defined(__BMI2__)
#define SMAX_ABI_BMI2 _bmi2
#else
#define SMAX_ABI_BMI2
#endif
#if defined(__AVX512F__)
#define SMAX_ABI_AVX512 _avx512
#else
#define SMAX_ABI_AVX512
#endif
#if defined(__AVX512BF16__)
#define SMAX_ABI_AVX512BF16 _bf16
#else
#define SMAX_ABI_AVX512BF16
#endif
#if defined(__AVX512FP16__)
#define SMAX_ABI_AVX512FP16 _fp16
#else
#define SMAX_ABI_AVX512FP16
#endif
#if defined(__ARM_FEATURE_SVE)
#define SMAX_ABI_SVE _sve
#else
#define SMAX_ABI_SVE
#endif
#if defined(__ARM_FEATURE_FP16_VECTOR_ARITHMETIC)
#define SMAX_ABI_ARMFP16 _fp16
#else
#define SMAX_ABI_ARMFP16
#endif
// Whether errors throw is decided when a translation unit is compiled, so it
// is part of the namespace too: a -fno-exceptions unit and a throwing unit in
// one program each keep their own error paths instead of the linker picking one.
#if defined(__cpp_exceptions) || defined(__EXCEPTIONS)
#define SMAX_HAS_EXCEPTIONS 1
#define SMAX_ABI_NO_EXCEPTIONS
#else
#define SMAX_HAS_EXCEPTIONS 0
#define SMAX_ABI_NO_EXCEPTIONS _noexcept
#endif
#define SMAX_ABI                                                                                                   \
  SMAX_CAT(                                                                                                        \
      SMAX_CAT(                                                                                                    \
          SMAX_CAT(SMAX_CAT(SMAX_CAT(SMAX_CAT(SMAX_CAT(abi_v0, SMAX_ABI_SSE3), SMAX_ABI_SSSE3), SMAX_ABI_SSE41),   \
                            SMAX_ABI_SSE42),                                                                       \
                   SMAX_CAT(SMAX_CAT(SMAX_ABI_AVX, SMAX_ABI_AVX2), SMAX_CAT(SMAX_ABI_FMA, SMAX_ABI_F16C))),        \
          SMAX_CAT(SMAX_ABI_BMI2, SMAX_CAT(SMAX_ABI_AVX512, SMAX_CAT(SMAX_ABI_AVX512BF16, SMAX_ABI_AVX512FP16)))), \
      SMAX_CAT(SMAX_CAT(SMAX_ABI_SVE, SMAX_ABI_ARMFP16), SMAX_ABI_NO_EXCEPTIONS))

// Vector-layer operations must inline into the kernels even at -O0, otherwise a
// debug build passes every vector through memory.
#define SMAX_INLINE inline __attribute__((always_inline))

// Loops over the few vectors of a block must be unrolled whole at any -O
// level: only then do their per-vector arrays live in registers.
#define SMAX_UNROLL _Pragma("GCC unroll 16")

namespace smax {
inline namespace SMAX_ABI {
namespace detail {

// Rounds a product on its own. Compilers fuse a * b + c into one FMA under
// -ffp-contract=fast when the translation unit enables FMA; the scalar and SSE2
// paths pass their products through this so that their results do not depend on
// the includer's -m flags. (The AVX2 and AVX-512 regions enable FMA themselves,
// so there the includer's flags change nothing.)
template <class V>
SMAX_INLINE V separately_rounded(V v) {
#if SMAX_ARCH_X86_64
  __asm__("" : "+x"(v));
#elif SMAX_ARCH_AARCH64
  __asm__("" : "+w"(v));
#endif
  return v;
}

// a * b rounded on its own (see separately_rounded), for per-row scalar code.
SMAX_INLINE double mul(double a, double b) { return separately_rounded(a * b); }

}  // namespace detail
}  // namespace SMAX_ABI
}  // namespace smax
