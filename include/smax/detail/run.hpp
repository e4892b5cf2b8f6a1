// The common tail of every public row operation: validate, then one dispatch and
// one indirect call for all rows, under the kernels' floating-point environment.
#pragma once

#include <algorithm>
#include <cstddef>
#include <limits>
#include <string>

#include "../isa.hpp"
#include "../matrix_view.hpp"
#include "../options.hpp"
#include "../tensor_axis.hpp"
#include "fp_env.hpp"
#include "kernel_table.hpp"
#include "staged.hpp"
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

template <class T>
executor executor_for(const softmax_options<T>& options) {
  return {options.threads, options.algorithm};
}

[[nodiscard]] inline bool check_algorithm(const char* fn, softmax_algorithm a) {
  switch (a) {
    case softmax_algorithm::automatic:
    case softmax_algorithm::three_pass_reload:
    case softmax_algorithm::two_pass_online:
    case softmax_algorithm::two_pass_exponent: return true;
  }
  return report_error(std::string(fn) + ": options.algorithm = " + str(static_cast<std::size_t>(a)) +
                      " is not a softmax_algorithm");
}

// A bias or keep view: x's columns, and 1 row, x's rows, or rows dividing x's.
template <class M, class T>
[[nodiscard]] bool check_broadcast(const char* fn, const char* name, const matrix_view<M>& mask,
                                   const matrix_view<const T>& x, byte_range& range) {
  range = {};
  if (mask.data == nullptr && mask.rows == 0 && mask.cols == 0) return true;  // not given
  const std::string prefix = std::string(fn) + ": " + name + " is " + str(mask.rows) + " x " + str(mask.cols) +
                             " but x is " + str(x.rows) + " x " + str(x.cols);
  if (mask.cols != x.cols) return report_error(prefix + ": the columns must match");
  if (x.rows > 0 && (mask.rows == 0 || x.rows % mask.rows != 0)) {
    return report_error(prefix + ": its rows must be 1, " + str(x.rows) + " or divide " + str(x.rows));
  }
  if (x.cols > 0 && mask.data == nullptr) return report_error(std::string(fn) + ": " + name + ".data is null");
  return check_view(fn, name, mask, range);
}

// The options' transform, checked (scale, softcap, bias and keep shapes), with
// every buffer read disjoint from the output.
template <class T>
[[nodiscard]] bool prepare_transform(const char* fn, const softmax_options<T>& o, const matrix_view<const T>& x,
                                     const byte_range& out, logit_transform<T>& t) {
  if (!check_algorithm(fn, o.algorithm)) return false;
  if (!(o.scale > 0.0 && o.scale < std::numeric_limits<double>::infinity())) {
    return report_error(std::string(fn) + ": options.scale = " + number(o.scale) + " must be finite and > 0");
  }
  if (!(o.softcap >= 0.0 && o.softcap < std::numeric_limits<double>::infinity())) {
    return report_error(std::string(fn) + ": options.softcap = " + number(o.softcap) +
                        " must be finite and >= 0 (0: off)");
  }
  if (o.softcap > 0.0 && sizeof(T) == sizeof(double)) {
    return report_error(std::string(fn) + ": options.softcap is supported for float and two-byte data, not double");
  }
  byte_range bias_range, keep_range;
  if (!check_broadcast(fn, "options.bias", o.bias, x, bias_range) ||
      !check_broadcast(fn, "options.keep", o.keep, x, keep_range) ||
      !check_disjoint(fn, "the output", out, "options.bias", bias_range) ||
      !check_disjoint(fn, "the output", out, "options.keep", keep_range)) {
    return false;
  }
  t = {};
  t.scale = o.scale;
  t.softcap = o.softcap;
  if (!bias_range.empty()) {
    t.bias = o.bias.data;
    t.bias_stride = o.bias.stride;
    t.bias_rows = o.bias.rows;
  }
  if (!keep_range.empty()) {
    t.keep = o.keep.data;
    t.keep_stride = o.keep.stride;
    t.keep_rows = o.keep.rows;
  }
  t.causal = o.causal;
  t.causal_offset = o.causal_offset;
  t.causal_period = o.causal_period == 0 ? (x.rows == 0 ? 1 : x.rows) : o.causal_period;
  return true;
}

// The backward passes take the forward's options: scale and the masks (masked
// entries get a zero gradient); softcap would need x, which they do not have.
template <class T>
[[nodiscard]] bool prepare_backward_transform(const char* fn, const softmax_options<T>& o,
                                              const matrix_view<const T>& shape, const byte_range& out,
                                              logit_transform<T>& t) {
  if (o.softcap != 0.0) {
    return report_error(std::string(fn) + ": options.softcap is supported by the forward operations only");
  }
  return prepare_transform(fn, o, shape, out, t);
}

// Y is T, or float for two-byte T (the mixed forms).
template <class T, class Y>
inline constexpr bool is_output_for_v = std::is_same_v<Y, T> || (is_storage_type_v<T> && std::is_same_v<Y, float>);

template <class Op, class T, class Y = T>
void run_map(const char* fn, matrix_view<const T> x, matrix_view<Y> y, const softmax_options<T>& options) {
  static_assert(is_element_type_v<T>, "smax takes float, double, smax::bfloat16 or smax::half");
  static_assert(is_output_for_v<T, Y>, "the output has the input's type (or float for two-byte input)");
  byte_range yr;
  logit_transform<T> transform;
  if (!check_map(fn, x, "y", y) || !check_view(fn, "y", y, yr) || !prepare_transform(fn, options, x, yr, transform)) {
    return;
  }
  if (x.rows == 0 || x.cols == 0) return;
  const fp_env_guard guard;
  if constexpr (is_storage_type_v<T>) {
    staged_map<Op>(x.data, x.stride, y.data, y.stride, x.rows, x.cols, executor_for(options), transform);
  } else {
    active_kernel<Op, T>()(x.data, x.stride, y.data, y.stride, x.rows, x.cols, executor_for(options), transform);
  }
}

template <class Op, class T, class Y = T>
void run_map_contiguous(const char* fn, const T* x, Y* y, std::size_t rows, std::size_t cols,
                        const softmax_options<T>& options) {
  if (!check_product(fn, rows, cols)) return;
  run_map<Op, T, Y>(fn, matrix_view<const T>(x, rows, cols), matrix_view<Y>(y, rows, cols), options);
}

template <class Op, class T, class Y = T>
void run_reduce(const char* fn, matrix_view<const T> x, Y* out, const softmax_options<T>& options) {
  static_assert(is_element_type_v<T>, "smax takes float, double, smax::bfloat16 or smax::half");
  static_assert(is_output_for_v<T, Y>, "the output has the input's type (or float for two-byte input)");
  byte_range outr;
  logit_transform<T> transform;
  if (!check_row_output(fn, x, "out", out) || !check_vector(fn, "out", out, x.rows, outr) ||
      !prepare_transform(fn, options, x, outr, transform)) {
    return;
  }
  if (x.rows == 0) return;
  if (x.cols == 0) {
    // Empty rows sum to zero. Answered here because a kernel would form each
    // row's pointer, which is undefined for a null x or a stride too large to
    // add to it (both valid when nothing is read).
    std::fill_n(out, x.rows, static_cast<Y>(-std::numeric_limits<float>::infinity()));
    return;
  }
  const fp_env_guard guard;
  if constexpr (is_storage_type_v<T>) {
    staged_reduce<Op>(x.data, x.stride, out, x.rows, x.cols, executor_for(options), transform);
  } else {
    active_kernel<Op, T>()(x.data, x.stride, out, x.rows, x.cols, executor_for(options), transform);
  }
}

// dx = f(a, b) row by row (softmax_backward: a = y, b = dy).
template <class Op, class T>
void run_backward(const char* fn, const char* a_name, matrix_view<const T> a, const char* b_name,
                  matrix_view<const T> b, matrix_view<T> dx, const softmax_options<T>& options) {
  static_assert(is_element_type_v<T>, "smax takes float, double, smax::bfloat16 or smax::half");
  byte_range dxr;
  logit_transform<T> transform;
  if (!check_backward(fn, a_name, a, b_name, b, dx) || !check_view(fn, "dx", dx, dxr) ||
      !prepare_backward_transform(fn, options, a, dxr, transform)) {
    return;
  }
  if (a.rows == 0 || a.cols == 0) return;
  const fp_env_guard guard;
  if constexpr (is_storage_type_v<T>) {
    staged_backward<Op>(a.data, a.stride, b.data, b.stride, dx.data, dx.stride, a.rows, a.cols, executor_for(options),
                        transform);
  } else {
    active_kernel<Op, T>()(a.data, a.stride, b.data, b.stride, dx.data, dx.stride, a.rows, a.cols,
                           executor_for(options), transform);
  }
}

template <class Op, class T>
void run_backward_contiguous(const char* fn, const char* a_name, const T* a, const char* b_name, const T* b, T* dx,
                             std::size_t rows, std::size_t cols, const softmax_options<T>& options) {
  if (!check_product(fn, rows, cols)) return;
  run_backward<Op, T>(fn, a_name, matrix_view<const T>(a, rows, cols), b_name, matrix_view<const T>(b, rows, cols),
                      matrix_view<T>(dx, rows, cols), options);
}

// ---- along a middle axis ------------------------------------------------------

// The element count of a tensor_axis, checked.
[[nodiscard]] inline bool check_axis(const char* fn, const tensor_axis& a, std::size_t& total) {
  total = 0;
  if (!check_product(fn, a.outer, a.axis)) return false;
  if (!check_product(fn, a.outer * a.axis, a.inner)) return false;
  // With axis == 0 the products above are 0, yet outer * inner results (one
  // per reduced column) are still written: that count must fit too.
  if (!check_product(fn, a.outer, a.inner)) return false;
  total = a.outer * a.axis * a.inner;
  return true;
}

// Along a middle axis the options' transform is not available (it is defined
// on rows); threads and the algorithm are.
template <class T>
[[nodiscard]] bool check_no_transform(const char* fn, const softmax_options<T>& o) {
  if (!check_algorithm(fn, o.algorithm)) return false;
  const bool transform = o.scale != 1.0 || o.softcap != 0.0 || o.bias.data != nullptr || o.bias.rows != 0 ||
                         o.keep.data != nullptr || o.keep.rows != 0 || o.causal;
  if (!transform) return true;
  return report_error(std::string(fn) +
                      ": scale, softcap, bias, keep and causal apply along the last dimension only (inner == 1)");
}

// A contiguous tensor of `total` elements as a one-row view, for the null,
// overflow and overlap checks.
template <class T>
matrix_view<T> flat(T* data, std::size_t total) {
  return {data, std::size_t{total == 0 ? 0u : 1u}, total};
}

template <class RowOp, class ColumnOp, class T, class Y = T>
void run_axis_map(const char* fn, const T* x, Y* y, const tensor_axis& a, const softmax_options<T>& options) {
  static_assert(is_element_type_v<T>, "smax takes float, double, smax::bfloat16 or smax::half");
  if (a.inner == 1) {
    if (!check_product(fn, a.outer, a.axis)) return;
    return run_map<RowOp, T, Y>(fn, matrix_view<const T>(x, a.outer, a.axis), matrix_view<Y>(y, a.outer, a.axis),
                                options);
  }
  std::size_t total;
  if (!check_axis(fn, a, total) || !check_map(fn, flat(x, total), "y", flat(y, total)) ||
      !check_no_transform(fn, options)) {
    return;
  }
  if (total == 0) return;
  const fp_env_guard guard;
  if constexpr (is_storage_type_v<T>) {
    staged_columns_map<ColumnOp>(x, y, a.outer, a.axis, a.inner, executor_for(options));
  } else {
    active_kernel<ColumnOp, T>()(x, y, a.outer, a.axis, a.inner, executor_for(options));
  }
}

template <class RowOp, class ColumnOp, class T, class Y = T>
void run_axis_reduce(const char* fn, const T* x, Y* out, const tensor_axis& a, const softmax_options<T>& options) {
  static_assert(is_element_type_v<T>, "smax takes float, double, smax::bfloat16 or smax::half");
  if (a.inner == 1) {
    if (!check_product(fn, a.outer, a.axis)) return;
    return run_reduce<RowOp, T, Y>(fn, matrix_view<const T>(x, a.outer, a.axis), out, options);
  }
  std::size_t total;
  byte_range xr, outr;
  if (!check_axis(fn, a, total) || !check_view(fn, "x", flat(x, total), xr) ||
      !check_vector(fn, "out", out, a.outer * a.inner, outr) || !check_disjoint(fn, "out", outr, "x", xr) ||
      !check_no_transform(fn, options)) {
    return;
  }
  if (a.outer * a.inner == 0) return;
  const fp_env_guard guard;
  if constexpr (is_storage_type_v<T>) {
    staged_columns_reduce(x, out, a.outer, a.axis, a.inner, executor_for(options));
  } else {
    active_kernel<ColumnOp, T>()(x, out, a.outer, a.axis, a.inner, executor_for(options));
  }
}

template <class RowOp, class ColumnOp, class T>
void run_axis_backward(const char* fn, const char* a_name, const T* first, const char* b_name, const T* second, T* dx,
                       const tensor_axis& a, const softmax_options<T>& options) {
  static_assert(is_element_type_v<T>, "smax takes float, double, smax::bfloat16 or smax::half");
  if (a.inner == 1) {
    if (!check_product(fn, a.outer, a.axis)) return;
    return run_backward<RowOp, T>(fn, a_name, matrix_view<const T>(first, a.outer, a.axis), b_name,
                                  matrix_view<const T>(second, a.outer, a.axis), matrix_view<T>(dx, a.outer, a.axis),
                                  options);
  }
  std::size_t total;
  if (!check_axis(fn, a, total) ||
      !check_backward(fn, a_name, flat(first, total), b_name, flat(second, total), flat(dx, total)) ||
      !check_no_transform(fn, options)) {
    return;
  }
  if (total == 0) return;
  const fp_env_guard guard;
  if constexpr (is_storage_type_v<T>) {
    staged_columns_backward<ColumnOp>(first, second, dx, a.outer, a.axis, a.inner, executor_for(options));
  } else {
    active_kernel<ColumnOp, T>()(first, second, dx, a.outer, a.axis, a.inner, executor_for(options), 1.0);
  }
}

}  // namespace detail
}  // namespace SMAX_ABI
}  // namespace smax
