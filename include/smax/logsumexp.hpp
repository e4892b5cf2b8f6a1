// log(sum(exp(x))) of each row of a matrix (or of one vector).
#pragma once

#include <cstddef>
#include <limits>
#include <type_traits>

#include "detail/run.hpp"
#include "matrix_view.hpp"
#include "options.hpp"

namespace smax {
inline namespace SMAX_ABI {

/// out[r] = log(sum_c exp(x[r][c])) for each row r, computed as
/// max + log(sum exp(x - max)): no overflow for any finite inputs.
///
/// Types: float, double, smax::bfloat16 or smax::half (two-byte data computed
/// in float; out is of x's type, or float in the mixed forms). Forms: one
/// vector (returns the value, float for two-byte data); rows x cols contiguous
/// and strided views (write `rows` values to out, contiguous); any axis of a
/// tensor. out must not overlap x.
///
/// Special values, per row:
///   - an empty row (cols == 0) gives -inf (the log of an empty sum).
///   - -inf entries contribute nothing; an all -inf row gives -inf.
///   - any NaN gives NaN; otherwise any +inf gives +inf.
///
/// Accuracy, on every ISA: float within 2 ulp where |out| >= 1 and within
/// 2 * 2^-23 absolute below 1; double within 4 ulp where |out| >= 1 and within
/// 4 * 2^-52 absolute below 1; bfloat16 and half outputs within 1 ulp of the
/// correctly rounded value, and the float-output forms (and the vector form,
/// which returns float for two-byte input) as float.
///
/// Errors (smax::error, before anything is written): a null or overflowing x as
/// for smax::softmax; out null while rows > 0; out overlapping x.
template <class T>
void logsumexp(detail::non_deduced<matrix_view<const T>> x, T* out,
               const detail::non_deduced<softmax_options<T>>& options = {}) {
  detail::run_reduce<detail::op_logsumexp, T>("smax::logsumexp", x, out, options);
}

/// Row-major contiguous rows x cols; writes rows values to out.
template <class T>
void logsumexp(const T* x, T* out, std::size_t rows, std::size_t cols,
               const detail::non_deduced<softmax_options<T>>& options = {}) {
  if (!detail::check_product("smax::logsumexp", rows, cols)) return;
  logsumexp<T>(matrix_view<const T>(x, rows, cols), out, options);
}

/// One vector of n elements; returns its logsumexp (-inf when n == 0).
template <class T>
detail::compute_type_t<T> logsumexp(const T* x, std::size_t n,
                                    const detail::non_deduced<softmax_options<T>>& options = {}) {
  using R = detail::compute_type_t<T>;
  R result = std::numeric_limits<R>::quiet_NaN();  // what a no-exceptions error leaves
  detail::run_reduce<detail::op_logsumexp, T, R>("smax::logsumexp", matrix_view<const T>(x, 1, n), &result, options);
  return result;
}

/// Two-byte x, float out (rows values).
template <class T, class = std::enable_if_t<detail::is_storage_type_v<T>>>
void logsumexp(matrix_view<const T> x, float* out, const detail::non_deduced<softmax_options<T>>& options = {}) {
  detail::run_reduce<detail::op_logsumexp, T, float>("smax::logsumexp", x, out, options);
}

template <class T, class = std::enable_if_t<detail::is_storage_type_v<T>>>
void logsumexp(const T* x, float* out, std::size_t rows, std::size_t cols,
               const detail::non_deduced<softmax_options<T>>& options = {}) {
  if (!detail::check_product("smax::logsumexp", rows, cols)) return;
  logsumexp<T>(matrix_view<const T>(x, rows, cols), out, options);
}

/// Backward pass of logsumexp: given x, lse[r] (the forward's result, or any
/// value) and dlse[r] = d(loss)/d(lse[r]), writes
/// dx[r][c] = dlse[r] * exp(x[r][c] - lse[r]).
///
/// Shapes: x and dx rows x cols; lse and dlse one value per row. Aliasing: dx may
/// be x itself (same pointer and stride); dx must not overlap lse or dlse.
/// exp overflows to +inf beyond x - lse ~ 709.78; -inf - (-inf) gives NaN.
///
/// Accuracy: float within 2 ulp, double within 4 ulp of the formula's value;
/// bfloat16 and half within 1 ulp of the correctly rounded value.
///
/// Errors: as smax::softmax for x and dx; lse or dlse null while rows > 0; any
/// overlap of dx with lse or dlse.
template <class T>
void logsumexp_backward(detail::non_deduced<matrix_view<const T>> x, const T* lse, const T* dlse, matrix_view<T> dx,
                        const detail::non_deduced<softmax_options<T>>& options = {}) {
  static_assert(detail::is_element_type_v<T>, "smax takes float, double, smax::bfloat16 or smax::half");
  constexpr const char* fn = "smax::logsumexp_backward";
  detail::byte_range xr, dxr, lr, dr;
  detail::logit_transform<T> transform;
  if (!detail::check_same_shape(fn, "x", x, "dx", dx) || !detail::check_view(fn, "x", x, xr) ||
      !detail::check_view(fn, "dx", dx, dxr) || !detail::check_in_place_or_disjoint(fn, "dx", dx, dxr, "x", x, xr) ||
      !detail::check_vector(fn, "lse", lse, x.rows, lr) || !detail::check_vector(fn, "dlse", dlse, x.rows, dr) ||
      !detail::check_disjoint(fn, "dx", dxr, "lse", lr) || !detail::check_disjoint(fn, "dx", dxr, "dlse", dr) ||
      !detail::prepare_backward_transform(fn, options, x, dxr, transform)) {
    return;
  }
  if (x.rows == 0 || x.cols == 0) return;
  const detail::fp_env_guard guard;
  if constexpr (detail::is_storage_type_v<T>) {
    detail::staged_logsumexp_backward(x.data, x.stride, lse, dlse, dx.data, dx.stride, x.rows, x.cols,
                                      detail::executor_for(options), transform);
  } else {
    detail::active_kernel<detail::op_logsumexp_backward, T>()(x.data, x.stride, lse, dlse, dx.data, dx.stride, x.rows,
                                                              x.cols, detail::executor_for(options), transform);
  }
}

/// Row-major contiguous rows x cols (see the strided form for the contract).
template <class T>
void logsumexp_backward(const T* x, const T* lse, const T* dlse, T* dx, std::size_t rows, std::size_t cols,
                        const detail::non_deduced<softmax_options<T>>& options = {}) {
  if (!detail::check_product("smax::logsumexp_backward", rows, cols)) return;
  logsumexp_backward<T>(matrix_view<const T>(x, rows, cols), lse, dlse, matrix_view<T>(dx, rows, cols), options);
}

/// One vector of n elements with its scalar lse and dlse.
template <class T>
void logsumexp_backward(const T* x, T lse, T dlse, T* dx, std::size_t n,
                        const detail::non_deduced<softmax_options<T>>& options = {}) {
  logsumexp_backward<T>(x, &lse, &dlse, dx, 1, n, options);
}

/// Along any dimension of a contiguous row-major tensor (see tensor_axis): out
/// receives a.outer x a.inner values, the tensor with that dimension removed.
template <class T>
void logsumexp(const T* x, T* out, tensor_axis a, const detail::non_deduced<softmax_options<T>>& options = {}) {
  detail::run_axis_reduce<detail::op_logsumexp, detail::op_logsumexp_columns, T>("smax::logsumexp", x, out, a, options);
}

/// logsumexp_backward along any dimension: lse and dlse hold a.outer x a.inner
/// values (the forward's out), x and dx the whole tensor.
template <class T>
void logsumexp_backward(const T* x, const T* lse, const T* dlse, T* dx, tensor_axis a,
                        const detail::non_deduced<softmax_options<T>>& options = {}) {
  constexpr const char* fn = "smax::logsumexp_backward";
  if (a.inner == 1) {
    if (!detail::check_product(fn, a.outer, a.axis)) return;
    return logsumexp_backward<T>(matrix_view<const T>(x, a.outer, a.axis), lse, dlse,
                                 matrix_view<T>(dx, a.outer, a.axis), options);
  }
  std::size_t total;
  detail::byte_range xr, dxr, lr, dr;
  if (!detail::check_axis(fn, a, total) || !detail::check_view(fn, "x", detail::flat(x, total), xr) ||
      !detail::check_view(fn, "dx", detail::flat(dx, total), dxr) ||
      !detail::check_in_place_or_disjoint(fn, "dx", detail::flat(dx, total), dxr, "x", detail::flat(x, total), xr) ||
      !detail::check_vector(fn, "lse", lse, a.outer * a.inner, lr) ||
      !detail::check_vector(fn, "dlse", dlse, a.outer * a.inner, dr) ||
      !detail::check_disjoint(fn, "dx", dxr, "lse", lr) || !detail::check_disjoint(fn, "dx", dxr, "dlse", dr) ||
      !detail::check_no_transform(fn, options)) {
    return;
  }
  if (total == 0) return;
  const detail::fp_env_guard guard;
  if constexpr (detail::is_storage_type_v<T>) {
    detail::staged_columns_logsumexp_backward(x, lse, dlse, dx, a.outer, a.axis, a.inner,
                                              detail::executor_for(options));
  } else {
    detail::active_kernel<detail::op_logsumexp_backward_columns, T>()(x, lse, dlse, dx, a.outer, a.axis, a.inner,
                                                                      detail::executor_for(options), 1.0);
  }
}

/// Two-byte x along any dimension, float out (a.outer x a.inner values).
template <class T, class = std::enable_if_t<detail::is_storage_type_v<T>>>
void logsumexp(const T* x, float* out, tensor_axis a, const detail::non_deduced<softmax_options<T>>& options = {}) {
  detail::run_axis_reduce<detail::op_logsumexp, detail::op_logsumexp_columns, T, float>("smax::logsumexp", x, out, a,
                                                                                        options);
}

}  // namespace SMAX_ABI
}  // namespace smax
