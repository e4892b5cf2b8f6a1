// The common tail of every public row operation: validate, then one dispatch and
// one indirect call for all rows, under the kernels' floating-point environment.
#pragma once

#include <cstddef>

#include "../isa.hpp"
#include "../matrix_view.hpp"
#include "../options.hpp"
#include "fp_env.hpp"
#include "kernel_table.hpp"
#include "validate.hpp"

namespace smax {
inline namespace SMAX_ABI {
namespace detail {

template <class T>
struct identity {
  using type = T;
};
// Keeps a parameter out of template argument deduction, so a matrix_view<T>
// argument converts to matrix_view<const T> instead of failing to deduce.
template <class T>
using non_deduced = typename identity<T>::type;

inline executor executor_for(const softmax_options& options) { return {options.threads, options.algorithm}; }

template <class Op, class T>
void run_map(const char* fn, matrix_view<const T> x, matrix_view<T> y, const softmax_options& options) {
  static_assert(is_kernel_type_v<T>, "smax kernels take float or double");
  if (!check_map(fn, x, "y", y)) return;
  if (x.rows == 0 || x.cols == 0) return;
  const fp_env_guard guard;
  active_kernel<Op, T>()(x.data, x.stride, y.data, y.stride, x.rows, x.cols, executor_for(options));
}

template <class Op, class T>
void run_map_contiguous(const char* fn, const T* x, T* y, std::size_t rows, std::size_t cols,
                        const softmax_options& options) {
  if (!check_product(fn, rows, cols)) return;
  run_map<Op, T>(fn, matrix_view<const T>(x, rows, cols), matrix_view<T>(y, rows, cols), options);
}

template <class Op, class T>
void run_reduce(const char* fn, matrix_view<const T> x, T* out, const softmax_options& options) {
  static_assert(is_kernel_type_v<T>, "smax kernels take float or double");
  if (!check_row_output(fn, x, "out", out)) return;
  if (x.rows == 0) return;
  const fp_env_guard guard;
  active_kernel<Op, T>()(x.data, x.stride, out, x.rows, x.cols, executor_for(options));
}

// dx = f(a, b) row by row (softmax_backward: a = y, b = dy).
template <class Op, class T>
void run_backward(const char* fn, const char* a_name, matrix_view<const T> a, const char* b_name,
                  matrix_view<const T> b, matrix_view<T> dx, const softmax_options& options) {
  static_assert(is_kernel_type_v<T>, "smax kernels take float or double");
  if (!check_backward(fn, a_name, a, b_name, b, dx)) return;
  if (a.rows == 0 || a.cols == 0) return;
  const fp_env_guard guard;
  active_kernel<Op, T>()(a.data, a.stride, b.data, b.stride, dx.data, dx.stride, a.rows, a.cols, executor_for(options));
}

template <class Op, class T>
void run_backward_contiguous(const char* fn, const char* a_name, const T* a, const char* b_name, const T* b, T* dx,
                             std::size_t rows, std::size_t cols, const softmax_options& options) {
  if (!check_product(fn, rows, cols)) return;
  run_backward<Op, T>(fn, a_name, matrix_view<const T>(a, rows, cols), b_name, matrix_view<const T>(b, rows, cols),
                      matrix_view<T>(dx, rows, cols), options);
}

}  // namespace detail
}  // namespace SMAX_ABI
}  // namespace smax
