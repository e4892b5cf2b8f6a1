// The Eigen contender's row loops, compiled in their own translation unit with
// the flags of SMAX_BENCH_EIGEN_FLAGS (default -march=native): Eigen picks its
// vector width at compile time, and a user who wants Eigen fast builds it so.
// This header stays free of Eigen so that no other file sees those flags' code.
#pragma once

#include <cstddef>

namespace smax_bench::eigen_rows {

template <class T>
void softmax(const T* x, T* y, std::size_t rows, std::size_t cols);
template <class T>
void log_softmax(const T* x, T* y, std::size_t rows, std::size_t cols);
template <class T>
void logsumexp(const T* x, T* out, std::size_t rows, std::size_t cols);

// The packet instruction sets Eigen was compiled for, e.g. "AVX512, FMA, ...".
const char* simd();
// "3.4.0".
const char* version();

}  // namespace smax_bench::eigen_rows
