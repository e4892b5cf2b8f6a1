// log(sum(exp(x))) of each row of a matrix (or of one vector).
#pragma once

#include <cstddef>
#include <limits>

#include "detail/run.hpp"
#include "matrix_view.hpp"
#include "options.hpp"

namespace smax {
inline namespace SMAX_ABI {

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
void logsumexp(detail::non_deduced<matrix_view<const T>> x, T* out, const softmax_options& options = {}) {
  detail::run_reduce<detail::op_logsumexp, T>("smax::logsumexp", x, out, options);
}

/// Row-major contiguous rows x cols; writes rows values to out.
template <class T>
void logsumexp(const T* x, T* out, std::size_t rows, std::size_t cols, const softmax_options& options = {}) {
  if (!detail::check_product("smax::logsumexp", rows, cols)) return;
  logsumexp<T>(matrix_view<const T>(x, rows, cols), out, options);
}

/// One vector of n elements; returns its logsumexp (-inf when n == 0).
template <class T>
T logsumexp(const T* x, std::size_t n, const softmax_options& options = {}) {
  T result = std::numeric_limits<T>::quiet_NaN();  // what a no-exceptions error leaves
  logsumexp<T>(matrix_view<const T>(x, 1, n), &result, options);
  return result;
}

/// Backward pass of logsumexp: given x, lse[r] (the forward's result, or any
/// value) and dlse[r] = d(loss)/d(lse[r]), writes
/// dx[r][c] = dlse[r] * exp(x[r][c] - lse[r]).
///
/// Shapes: x and dx rows x cols; lse and dlse one value per row. Aliasing: dx may
/// be x itself (same pointer and stride); dx must not overlap lse or dlse.
/// exp overflows to +inf beyond x - lse ~ 709.78; -inf - (-inf) gives NaN.
///
/// Accuracy: float within 2 ulp, double within 4 ulp of the formula's value.
///
/// Errors: as smax::softmax for x and dx; lse or dlse null while rows > 0; any
/// overlap of dx with lse or dlse.
template <class T>
void logsumexp_backward(detail::non_deduced<matrix_view<const T>> x, const T* lse, const T* dlse, matrix_view<T> dx,
                        const softmax_options& options = {}) {
  static_assert(detail::is_kernel_type_v<T>, "smax kernels take float or double");
  constexpr const char* fn = "smax::logsumexp_backward";
  detail::byte_range xr, dxr, lr, dr;
  if (!detail::check_same_shape(fn, "x", x, "dx", dx) || !detail::check_view(fn, "x", x, xr) ||
      !detail::check_view(fn, "dx", dx, dxr) || !detail::check_in_place_or_disjoint(fn, "dx", dx, dxr, "x", x, xr) ||
      !detail::check_vector(fn, "lse", lse, x.rows, lr) || !detail::check_vector(fn, "dlse", dlse, x.rows, dr) ||
      !detail::check_disjoint(fn, "dx", dxr, "lse", lr) || !detail::check_disjoint(fn, "dx", dxr, "dlse", dr)) {
    return;
  }
  if (x.rows == 0 || x.cols == 0) return;
  const detail::fp_env_guard guard;
  detail::active_kernel<detail::op_logsumexp_backward, T>()(x.data, x.stride, lse, dlse, dx.data, dx.stride, x.rows,
                                                            x.cols, detail::executor_for(options));
}

/// Row-major contiguous rows x cols (see the strided form for the contract).
template <class T>
void logsumexp_backward(const T* x, const T* lse, const T* dlse, T* dx, std::size_t rows, std::size_t cols,
                        const softmax_options& options = {}) {
  if (!detail::check_product("smax::logsumexp_backward", rows, cols)) return;
  logsumexp_backward<T>(matrix_view<const T>(x, rows, cols), lse, dlse, matrix_view<T>(dx, rows, cols), options);
}

/// One vector of n elements with its scalar lse and dlse.
template <class T>
void logsumexp_backward(const T* x, T lse, T dlse, T* dx, std::size_t n, const softmax_options& options = {}) {
  logsumexp_backward<T>(x, &lse, &dlse, dx, 1, n, options);
}

}  // namespace SMAX_ABI
}  // namespace smax
