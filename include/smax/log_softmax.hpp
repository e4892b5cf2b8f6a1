// log-softmax over the rows of a matrix (or over one vector).
#pragma once

#include <cstddef>
#include <type_traits>

#include "detail/run.hpp"
#include "matrix_view.hpp"
#include "options.hpp"

namespace smax {
inline namespace SMAX_ABI {

/// y[r][c] = x[r][c] - log(sum_k exp(x[r][k])) for each row r, computed as
/// (x - max) - log(sum exp(x - max)): no overflow, and no exp/log round trip of
/// the output (log_softmax is not log(softmax)).
///
/// Types, forms and aliasing: as smax::softmax (y may be x itself, in place).
///
/// Special values, per row:
///   - cols == 0 writes nothing.
///   - x[c] == -inf gives exactly -inf.
///   - all entries -inf: every output NaN.
///   - any NaN, or any +inf: every output of that row NaN (see smax::softmax).
///   - a dominant entry keeps relative accuracy: where the others sum to t
///     (relative to it) the result is -log1p(t) ~ -t, not a flat 0.
///
/// Accuracy, against the exact value from the given inputs, on every ISA:
/// float within 2 ulp where |y| >= 1 and within 2 * 2^-23 absolute below 1;
/// double within 4 ulp where |y| >= 1 and within 4 * 2^-52 absolute below 1;
/// bfloat16 and half within 1 ulp of the correctly rounded value (computed in
/// float, rounded once), and the float-output forms as float.
///
/// Errors: as smax::softmax.
template <class T>
void log_softmax(detail::non_deduced<matrix_view<const T>> x, matrix_view<T> y,
                 const detail::non_deduced<softmax_options<T>>& options = {}) {
  detail::run_map<detail::op_log_softmax, T>("smax::log_softmax", x, y, options);
}

/// Row-major contiguous rows x cols (see the strided form for the contract).
template <class T>
void log_softmax(const T* x, T* y, std::size_t rows, std::size_t cols,
                 const detail::non_deduced<softmax_options<T>>& options = {}) {
  detail::run_map_contiguous<detail::op_log_softmax, T>("smax::log_softmax", x, y, rows, cols, options);
}

/// One vector of n elements (see the strided form for the contract).
template <class T>
void log_softmax(const T* x, T* y, std::size_t n, const detail::non_deduced<softmax_options<T>>& options = {}) {
  log_softmax<T>(x, y, 1, n, options);
}

/// Backward pass of log_softmax: given y = log_softmax(x) and dy = d(loss)/dy,
/// writes dx[r][c] = dy[r][c] - exp(y[r][c]) * sum_k dy[r][k].
///
/// Shapes: y, dy and dx alike. Aliasing: dx may be dy or y itself (same pointer
/// and stride); any other overlap with them is an error.
///
/// Accuracy (s = sum_k |dy_k|): float within 2 ulp + 2^-30 exp(y_c) s;
/// double within 4 ulp + 2^-50 exp(y_c) s (the second term covers cancellation
/// between dy_c and exp(y_c) sum dy, e.g. at a target whose probability is ~1).
///
/// Errors: as smax::softmax, for each of the three views.
template <class T>
void log_softmax_backward(detail::non_deduced<matrix_view<const T>> y, detail::non_deduced<matrix_view<const T>> dy,
                          matrix_view<T> dx, const detail::non_deduced<softmax_options<T>>& options = {}) {
  detail::run_backward<detail::op_log_softmax_backward, T>("smax::log_softmax_backward", "y", y, "dy", dy, dx, options);
}

/// Row-major contiguous rows x cols (see the strided form for the contract).
template <class T>
void log_softmax_backward(const T* y, const T* dy, T* dx, std::size_t rows, std::size_t cols,
                          const detail::non_deduced<softmax_options<T>>& options = {}) {
  detail::run_backward_contiguous<detail::op_log_softmax_backward, T>("smax::log_softmax_backward", "y", y, "dy", dy,
                                                                      dx, rows, cols, options);
}

/// One vector of n elements (see the strided form for the contract).
template <class T>
void log_softmax_backward(const T* y, const T* dy, T* dx, std::size_t n,
                          const detail::non_deduced<softmax_options<T>>& options = {}) {
  log_softmax_backward<T>(y, dy, dx, 1, n, options);
}

/// Along any dimension of a contiguous row-major tensor (see tensor_axis and
/// the tensor_axis form of smax::softmax).
template <class T>
void log_softmax(const T* x, T* y, tensor_axis a, const detail::non_deduced<softmax_options<T>>& options = {}) {
  detail::run_axis_map<detail::op_log_softmax, detail::op_log_softmax_columns, T>("smax::log_softmax", x, y, a,
                                                                                  options);
}

/// log_softmax_backward along any dimension.
template <class T>
void log_softmax_backward(const T* y, const T* dy, T* dx, tensor_axis a,
                          const detail::non_deduced<softmax_options<T>>& options = {}) {
  detail::run_axis_backward<detail::op_log_softmax_backward, detail::op_log_softmax_backward_columns, T>(
      "smax::log_softmax_backward", "y", y, "dy", dy, dx, a, options);
}

/// Two-byte input, float output (the form a loss wants): x is bfloat16 or
/// half, y float; computed exactly as for float data holding x's values. y
/// must not overlap x. Every form above has this variant.
template <class T, class = std::enable_if_t<detail::is_storage_type_v<T>>>
void log_softmax(matrix_view<const T> x, matrix_view<float> y,
                 const detail::non_deduced<softmax_options<T>>& options = {}) {
  detail::run_map<detail::op_log_softmax, T, float>("smax::log_softmax", x, y, options);
}

template <class T, class = std::enable_if_t<detail::is_storage_type_v<T>>>
void log_softmax(const T* x, float* y, std::size_t rows, std::size_t cols,
                 const detail::non_deduced<softmax_options<T>>& options = {}) {
  detail::run_map_contiguous<detail::op_log_softmax, T, float>("smax::log_softmax", x, y, rows, cols, options);
}

template <class T, class = std::enable_if_t<detail::is_storage_type_v<T>>>
void log_softmax(const T* x, float* y, std::size_t n, const detail::non_deduced<softmax_options<T>>& options = {}) {
  detail::run_map_contiguous<detail::op_log_softmax, T, float>("smax::log_softmax", x, y, 1, n, options);
}

template <class T, class = std::enable_if_t<detail::is_storage_type_v<T>>>
void log_softmax(const T* x, float* y, tensor_axis a, const detail::non_deduced<softmax_options<T>>& options = {}) {
  detail::run_axis_map<detail::op_log_softmax, detail::op_log_softmax_columns, T, float>("smax::log_softmax", x, y, a,
                                                                                         options);
}

}  // namespace SMAX_ABI
}  // namespace smax
