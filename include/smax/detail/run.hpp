// The common tail of every public row operation: validate, then one dispatch and
// one indirect call for all rows, under the kernels' floating-point environment.
#pragma once

#include <cstddef>

#include "../isa.hpp"
#include "../matrix_view.hpp"
#include "fp_env.hpp"
#include "kernel_table.hpp"
#include "validate.hpp"

namespace smax::detail {

template <class T>
struct identity {
  using type = T;
};
// Keeps a parameter out of template argument deduction, so a matrix_view<T>
// argument converts to matrix_view<const T> instead of failing to deduce.
template <class T>
using non_deduced = typename identity<T>::type;

template <class T>
using map_kernel = typename row_kernels<T>::map_fn row_kernels<T>::*;

template <class T>
using reduce_kernel = typename row_kernels<T>::reduce_fn row_kernels<T>::*;

template <class T>
void run_map(const char* fn, map_kernel<T> kernel, matrix_view<const T> x, matrix_view<T> y) {
  static_assert(is_kernel_type_v<T>, "smax kernels take float or double");
  if (!check_map(fn, x, "y", y)) return;
  if (x.rows == 0 || x.cols == 0) return;
  const fp_env_guard guard;
  (active_kernels<T>().*kernel)(x.data, x.stride, y.data, y.stride, x.rows, x.cols);
}

template <class T>
void run_map_contiguous(const char* fn, map_kernel<T> kernel, const T* x, T* y, std::size_t rows, std::size_t cols) {
  if (!check_product(fn, rows, cols)) return;
  run_map<T>(fn, kernel, matrix_view<const T>(x, rows, cols), matrix_view<T>(y, rows, cols));
}

template <class T>
void run_reduce(const char* fn, reduce_kernel<T> kernel, matrix_view<const T> x, T* out) {
  static_assert(is_kernel_type_v<T>, "smax kernels take float or double");
  if (!check_row_output(fn, x, "out", out)) return;
  if (x.rows == 0) return;
  const fp_env_guard guard;
  (active_kernels<T>().*kernel)(x.data, x.stride, out, x.rows, x.cols);
}

}  // namespace smax::detail
