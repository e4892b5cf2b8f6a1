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
// which -Wmaybe-uninitialized reports in the caller once they are inlined
// (GCC bug 105593). The suppression covers smax's own ISA regions only.
#if defined(__GNUC__) && !defined(__clang__)
#define SMAX_DIAGNOSTICS_PUSH _Pragma("GCC diagnostic push") _Pragma("GCC diagnostic ignored \"-Wmaybe-uninitialized\"")
#define SMAX_DIAGNOSTICS_POP _Pragma("GCC diagnostic pop")
#else
#define SMAX_DIAGNOSTICS_PUSH
#define SMAX_DIAGNOSTICS_POP
#endif

// Vector-layer operations must inline into the kernels even at -O0, otherwise a
// debug build passes every vector through memory.
#define SMAX_INLINE inline __attribute__((always_inline))

#if defined(__cpp_exceptions) || defined(__EXCEPTIONS)
#define SMAX_HAS_EXCEPTIONS 1
#else
#define SMAX_HAS_EXCEPTIONS 0
#endif
