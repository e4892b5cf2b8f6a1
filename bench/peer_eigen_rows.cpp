// The array expressions an Eigen user writes, one row at a time: Eigen
// vectorises exp() over a row, but over a whole matrix expression with a
// per-row max it falls back to scalar expf.
#if defined(__GNUC__) && !defined(__clang__)
// GCC 12 reports the deliberately undefined operand of _mm512_undefined_ps()
// inside Eigen's AVX-512 packets as maybe-uninitialized, at the point where it
// is inlined into this file, which no system-header marking reaches.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <Eigen/Core>
#include <cmath>

#include "peer_eigen.hpp"

namespace smax_bench::eigen_rows {

template <class T>
using row = Eigen::Array<T, Eigen::Dynamic, 1>;

template <class T>
void softmax(const T* x, T* y, std::size_t rows, std::size_t cols) {
  const auto n = static_cast<Eigen::Index>(cols);
  for (std::size_t r = 0; r < rows; ++r) {
    const Eigen::Map<const row<T>> in(x + r * cols, n);
    Eigen::Map<row<T>> out(y + r * cols, n);
    out = (in - in.maxCoeff()).exp();
    out /= out.sum();
  }
}

template <class T>
void log_softmax(const T* x, T* y, std::size_t rows, std::size_t cols) {
  const auto n = static_cast<Eigen::Index>(cols);
  for (std::size_t r = 0; r < rows; ++r) {
    const Eigen::Map<const row<T>> in(x + r * cols, n);
    Eigen::Map<row<T>> out(y + r * cols, n);
    const T m = in.maxCoeff();
    out = in - (m + std::log((in - m).exp().sum()));
  }
}

template <class T>
void logsumexp(const T* x, T* out, std::size_t rows, std::size_t cols) {
  const auto n = static_cast<Eigen::Index>(cols);
  for (std::size_t r = 0; r < rows; ++r) {
    const Eigen::Map<const row<T>> in(x + r * cols, n);
    const T m = in.maxCoeff();
    out[r] = m + std::log((in - m).exp().sum());
  }
}

const char* simd() { return Eigen::SimdInstructionSetsInUse(); }

#define SMAX_BENCH_STR2(x) #x
#define SMAX_BENCH_STR(x) SMAX_BENCH_STR2(x)
const char* version() {
  return SMAX_BENCH_STR(EIGEN_WORLD_VERSION) "." SMAX_BENCH_STR(EIGEN_MAJOR_VERSION) "." SMAX_BENCH_STR(
      EIGEN_MINOR_VERSION);
}

template void softmax<float>(const float*, float*, std::size_t, std::size_t);
template void softmax<double>(const double*, double*, std::size_t, std::size_t);
template void log_softmax<float>(const float*, float*, std::size_t, std::size_t);
template void log_softmax<double>(const double*, double*, std::size_t, std::size_t);
template void logsumexp<float>(const float*, float*, std::size_t, std::size_t);
template void logsumexp<double>(const double*, double*, std::size_t, std::size_t);

}  // namespace smax_bench::eigen_rows
