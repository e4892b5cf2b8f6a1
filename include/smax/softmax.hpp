// softmax over the rows of a matrix (or over one vector).
#pragma once

#include <cstddef>
#include <type_traits>

#include "detail/run.hpp"
#include "matrix_view.hpp"
#include "options.hpp"

namespace smax {
inline namespace SMAX_ABI {

/// y[r][c] = exp(x[r][c]) / sum_k exp(x[r][k]) for each row r, computed with the
/// row maximum subtracted first, so any finite logits work without overflow.
///
/// Types: float, double, smax::bfloat16 or smax::half (two-byte data are
/// computed in float and rounded once; the mixed forms below write float).
/// Forms: one vector of n elements; rows x cols contiguous; strided views
/// (each with its own row stride, in elements); any axis of a tensor.
///
/// Aliasing: y may be x itself (same pointer and same stride: in place). Any
/// other overlap of x and y is an error.
///
/// Special values, per row (every ISA behaves alike):
///   - cols == 0 writes nothing.
///   - x[c] == -inf gives exactly 0 (the others are the softmax of the rest).
///   - all entries -inf: every output NaN (0/0; nothing to normalise).
///   - any NaN: every output of that row NaN.
///   - any +inf (and no NaN): every output NaN, as IEEE arithmetic gives for
///     x - max(x) = inf - inf. Other rows are unaffected.
///   - outputs below FLT_MIN (DBL_MIN) are computed as subnormals, never flushed,
///     whatever the caller's FTZ/DAZ setting; the caller's floating-point
///     control and status state is restored on return.
///
/// Accuracy, against the exact softmax of the given inputs (ulp measured at the
/// exact value; below FLT_MIN an ulp is 2^-149, below DBL_MIN 2^-1074), on every
/// ISA: float within 2 ulp, double within 4 ulp, bfloat16 and half within 1 ulp
/// of the correctly rounded value. Shifting a row by a constant
/// (e.g. +1e4) changes the result by no more than these bounds allow.
///
/// Errors (smax::error, thrown before anything is written): x and y of different
/// shapes; a null data pointer for a non-empty view; stride < cols; an extent
/// whose size overflows; y overlapping x other than exactly in place.
template <class T>
void softmax(detail::non_deduced<matrix_view<const T>> x, matrix_view<T> y,
             const detail::non_deduced<softmax_options<T>>& options = {}) {
  detail::run_map<detail::op_softmax, T>("smax::softmax", x, y, options);
}

/// Row-major contiguous rows x cols (see the strided form for the contract).
template <class T>
void softmax(const T* x, T* y, std::size_t rows, std::size_t cols,
             const detail::non_deduced<softmax_options<T>>& options = {}) {
  detail::run_map_contiguous<detail::op_softmax, T>("smax::softmax", x, y, rows, cols, options);
}

/// One vector of n elements (see the strided form for the contract).
template <class T>
void softmax(const T* x, T* y, std::size_t n, const detail::non_deduced<softmax_options<T>>& options = {}) {
  softmax<T>(x, y, 1, n, options);
}

/// Backward pass of softmax: given y = softmax(x) and dy = d(loss)/dy, writes
/// dx = d(loss)/dx, i.e. dx[r][c] = y[r][c] * (dy[r][c] - sum_k dy[r][k] y[r][k]).
///
/// Shapes: y, dy and dx alike. Aliasing: dx may be dy or y itself (same pointer
/// and stride); any other overlap with them is an error. y and dy may overlap.
/// NaN or infinities propagate as the formula implies.
///
/// Accuracy (s = sum_k |dy_k y_k|): float within 2 ulp + 2^-30 |y_c| s;
/// double within 4 ulp + 2^-50 |y_c| s. The second term covers cancellation in
/// dy_c - sum: it is what the rounding of the inputs alone can cause.
///
/// Errors: as smax::softmax, for each of the three views.
template <class T>
void softmax_backward(detail::non_deduced<matrix_view<const T>> y, detail::non_deduced<matrix_view<const T>> dy,
                      matrix_view<T> dx, const detail::non_deduced<softmax_options<T>>& options = {}) {
  detail::run_backward<detail::op_softmax_backward, T>("smax::softmax_backward", "y", y, "dy", dy, dx, options);
}

/// Row-major contiguous rows x cols (see the strided form for the contract).
template <class T>
void softmax_backward(const T* y, const T* dy, T* dx, std::size_t rows, std::size_t cols,
                      const detail::non_deduced<softmax_options<T>>& options = {}) {
  detail::run_backward_contiguous<detail::op_softmax_backward, T>("smax::softmax_backward", "y", y, "dy", dy, dx, rows,
                                                                  cols, options);
}

/// One vector of n elements (see the strided form for the contract).
template <class T>
void softmax_backward(const T* y, const T* dy, T* dx, std::size_t n,
                      const detail::non_deduced<softmax_options<T>>& options = {}) {
  softmax_backward<T>(y, dy, dx, 1, n, options);
}

/// Along any dimension of a contiguous row-major tensor (see tensor_axis), e.g.
/// smax::softmax(x, y, smax::along_dim({n, c, h, w}, 1)). inner == 1 is the row
/// form with every option; with inner > 1 the options' logit transform is not
/// available (an error), threads are. y may be x itself.
template <class T>
void softmax(const T* x, T* y, tensor_axis a, const detail::non_deduced<softmax_options<T>>& options = {}) {
  detail::run_axis_map<detail::op_softmax, detail::op_softmax_columns, T>("smax::softmax", x, y, a, options);
}

/// softmax_backward along any dimension (see the softmax form above).
template <class T>
void softmax_backward(const T* y, const T* dy, T* dx, tensor_axis a,
                      const detail::non_deduced<softmax_options<T>>& options = {}) {
  detail::run_axis_backward<detail::op_softmax_backward, detail::op_softmax_backward_columns, T>(
      "smax::softmax_backward", "y", y, "dy", dy, dx, a, options);
}

/// Two-byte input, float output (the form a loss wants): x is bfloat16 or
/// half, y float; computed exactly as for float data holding x's values. y
/// must not overlap x. Every form above has this variant.
template <class T, class = std::enable_if_t<detail::is_storage_type_v<T>>>
void softmax(matrix_view<const T> x, matrix_view<float> y,
             const detail::non_deduced<softmax_options<T>>& options = {}) {
  detail::run_map<detail::op_softmax, T, float>("smax::softmax", x, y, options);
}

template <class T, class = std::enable_if_t<detail::is_storage_type_v<T>>>
void softmax(const T* x, float* y, std::size_t rows, std::size_t cols,
             const detail::non_deduced<softmax_options<T>>& options = {}) {
  detail::run_map_contiguous<detail::op_softmax, T, float>("smax::softmax", x, y, rows, cols, options);
}

template <class T, class = std::enable_if_t<detail::is_storage_type_v<T>>>
void softmax(const T* x, float* y, std::size_t n, const detail::non_deduced<softmax_options<T>>& options = {}) {
  detail::run_map_contiguous<detail::op_softmax, T, float>("smax::softmax", x, y, 1, n, options);
}

template <class T, class = std::enable_if_t<detail::is_storage_type_v<T>>>
void softmax(const T* x, float* y, tensor_axis a, const detail::non_deduced<softmax_options<T>>& options = {}) {
  detail::run_axis_map<detail::op_softmax, detail::op_softmax_columns, T, float>("smax::softmax", x, y, a, options);
}

}  // namespace SMAX_ABI
}  // namespace smax
