// log(sum(exp(x))) of each row of a matrix (or of one vector).
#pragma once

#include <cstddef>
#include <limits>

#include "detail/run.hpp"
#include "matrix_view.hpp"

namespace smax {

/// out[r] = log(sum_c exp(x[r][c])) for each row r, computed as
/// max + log(sum exp(x - max)): no overflow for any finite inputs.
///
/// Types: float or double. Forms: one vector (returns the value); rows x cols
/// contiguous and strided views (write `rows` values to out, contiguous).
/// out must not overlap x.
///
/// Special values, per row:
///   - an empty row (cols == 0) gives -inf (the log of an empty sum).
///   - -inf entries contribute nothing; an all -inf row gives -inf.
///   - any NaN gives NaN; otherwise any +inf gives +inf.
///
/// Accuracy, on every ISA: float within 2 ulp where |out| >= 1 and within
/// 2 * 2^-23 absolute below 1; double within 4 ulp where |out| >= 1 and within
/// 4 * 2^-52 absolute below 1.
///
/// Errors (smax::error, before anything is written): a null or overflowing x as
/// for smax::softmax; out null while rows > 0; out overlapping x.
template <class T>
void logsumexp(detail::non_deduced<matrix_view<const T>> x, T* out) {
  detail::run_reduce<T>("smax::logsumexp", &detail::row_kernels<T>::logsumexp, x, out);
}

/// Row-major contiguous rows x cols; writes rows values to out.
template <class T>
void logsumexp(const T* x, T* out, std::size_t rows, std::size_t cols) {
  if (!detail::check_product("smax::logsumexp", rows, cols)) return;
  logsumexp<T>(matrix_view<const T>(x, rows, cols), out);
}

/// One vector of n elements; returns its logsumexp (-inf when n == 0).
template <class T>
T logsumexp(const T* x, std::size_t n) {
  T result = std::numeric_limits<T>::quiet_NaN();  // what a no-exceptions error leaves
  logsumexp<T>(matrix_view<const T>(x, 1, n), &result);
  return result;
}

}  // namespace smax
