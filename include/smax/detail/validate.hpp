// Argument checks shared by the public entry points. Each check runs before
// anything is written and reports through report_error (error.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>
#include <type_traits>

#include "../error.hpp"
#include "../matrix_view.hpp"
#include "../types.hpp"

namespace smax {
inline namespace SMAX_ABI {
namespace detail {

// Kernels compute in float or double; bfloat16 and half are storage types,
// computed in float (staged.hpp).
template <class T>
inline constexpr bool is_kernel_type_v = std::is_same_v<T, float> || std::is_same_v<T, double>;
template <class T>
inline constexpr bool is_element_type_v = is_kernel_type_v<T> || std::is_same_v<T, bfloat16> || std::is_same_v<T, half>;
// The type results are computed (and losses and per-row values returned) in.
template <class T>
using compute_type_t = std::conditional_t<is_kernel_type_v<T>, T, float>;

inline std::string str(std::size_t v) { return std::to_string(v); }

// Enough digits to tell any float apart, and exponents for tiny or huge
// values (std::to_string would print 1e-9 as 0.000000).
inline std::string number(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.9g", v);
  return text;
}

template <class T>
inline constexpr std::size_t kMaxElements = static_cast<std::size_t>(std::numeric_limits<std::ptrdiff_t>::max()) /
                                            sizeof(T);

// The address range [begin, end) a buffer touches (empty buffers touch nothing).
struct byte_range {
  std::uintptr_t begin = 0;
  std::uintptr_t end = 0;
  bool empty() const noexcept { return begin == end; }
  bool overlaps(const byte_range& other) const noexcept {
    return !empty() && !other.empty() && begin < other.end && other.begin < end;
  }
};

// Validates one view: non-null when non-empty, stride >= cols, and an extent that
// fits in memory. On success `range` holds the bytes the view spans.
template <class T>
[[nodiscard]] bool check_view(const char* fn, const char* name, const matrix_view<T>& v, byte_range& range) {
  range = {};
  if (v.rows == 0 || v.cols == 0) return true;
  const std::string prefix = std::string(fn) + ": " + name;
  if (v.data == nullptr) {
    return report_error(prefix + ".data is null but the view has " + str(v.rows) + " x " + str(v.cols) + " elements");
  }
  if (v.stride < v.cols) {
    return report_error(prefix + ".stride = " + str(v.stride) + " is smaller than " + name + ".cols = " + str(v.cols));
  }
  const std::size_t rows_before_last = v.rows - 1;
  if (v.cols > kMaxElements<T> || rows_before_last > (kMaxElements<T> - v.cols) / v.stride) {
    return report_error(prefix + " has rows = " + str(v.rows) + ", cols = " + str(v.cols) +
                        ", stride = " + str(v.stride) + ": its extent overflows the address space");
  }
  const std::size_t bytes = (rows_before_last * v.stride + v.cols) * sizeof(T);
  const auto begin = reinterpret_cast<std::uintptr_t>(v.data);
  if (begin + bytes < begin) return report_error(prefix + " extends past the end of the address space");
  range = {begin, begin + bytes};
  return true;
}

// A vector of `count` elements (null allowed only when count == 0); on success
// `range` holds its bytes.
template <class T>
[[nodiscard]] bool check_vector(const char* fn, const char* name, const T* data, std::size_t count, byte_range& range) {
  range = {};
  if (count == 0) return true;
  if (data == nullptr) {
    return report_error(std::string(fn) + ": " + name + " is null but " + str(count) + " elements are needed");
  }
  const auto begin = reinterpret_cast<std::uintptr_t>(data);
  if (count > kMaxElements<T> || begin + count * sizeof(T) < begin) {
    return report_error(std::string(fn) + ": " + name + " would need " + str(count) +
                        " elements, more than the address space holds");
  }
  range = {begin, begin + count * sizeof(T)};
  return true;
}

// rows * cols for the contiguous forms, checked.
[[nodiscard]] inline bool check_product(const char* fn, std::size_t rows, std::size_t cols) {
  if (cols != 0 && rows > std::numeric_limits<std::size_t>::max() / cols) {
    return report_error(std::string(fn) + ": rows * cols = " + str(rows) + " * " + str(cols) +
                        " overflows std::size_t");
  }
  return true;
}

template <class A, class B>
[[nodiscard]] bool check_same_shape(const char* fn, const char* a_name, const matrix_view<A>& a, const char* b_name,
                                    const matrix_view<B>& b) {
  if (a.rows == b.rows && a.cols == b.cols) return true;
  return report_error(std::string(fn) + ": " + a_name + " is " + str(a.rows) + " x " + str(a.cols) + " but " + b_name +
                      " is " + str(b.rows) + " x " + str(b.cols));
}

[[nodiscard]] inline bool check_disjoint(const char* fn, const char* a_name, const byte_range& a, const char* b_name,
                                         const byte_range& b) {
  if (!a.overlaps(b)) return true;
  return report_error(std::string(fn) + ": " + a_name + " overlaps " + b_name);
}

// An output may be the very same buffer as an input (same pointer and stride:
// in place) or disjoint from it; anything in between is an error.
template <class Out, class In>
[[nodiscard]] bool check_in_place_or_disjoint(const char* fn, const char* out_name, const matrix_view<Out>& out,
                                              const byte_range& out_range, const char* in_name,
                                              const matrix_view<In>& in, const byte_range& in_range) {
  const bool in_place = static_cast<const void*>(out.data) == static_cast<const void*>(in.data) &&
                        out.stride == in.stride && sizeof(In) == sizeof(Out);
  if (in_place || !out_range.overlaps(in_range)) return true;
  return report_error(std::string(fn) + ": " + out_name + " overlaps " + in_name +
                      " without being the same buffer; in-place use needs " + out_name + ".data == " + in_name +
                      ".data and " + out_name + ".stride == " + in_name + ".stride");
}

// Input and output of a row-wise map (softmax, log_softmax): same shape, each
// valid, and either the very same buffer and stride (in place) or disjoint.
template <class In, class Out>
[[nodiscard]] bool check_map(const char* fn, const matrix_view<In>& x, const char* y_name, const matrix_view<Out>& y) {
  byte_range xr, yr;
  return check_same_shape(fn, "x", x, y_name, y) && check_view(fn, "x", x, xr) && check_view(fn, y_name, y, yr) &&
         check_in_place_or_disjoint(fn, y_name, y, yr, "x", x, xr);
}

// A backward pass dx = f(a, b): three views of one shape; dx may be a or b
// itself (in place) but must not overlap either otherwise.
template <class T>
[[nodiscard]] bool check_backward(const char* fn, const char* a_name, const matrix_view<const T>& a, const char* b_name,
                                  const matrix_view<const T>& b, const matrix_view<T>& dx) {
  byte_range ar, br, dxr;
  return check_same_shape(fn, a_name, a, b_name, b) && check_same_shape(fn, a_name, a, "dx", dx) &&
         check_view(fn, a_name, a, ar) && check_view(fn, b_name, b, br) && check_view(fn, "dx", dx, dxr) &&
         check_in_place_or_disjoint(fn, "dx", dx, dxr, a_name, a, ar) &&
         check_in_place_or_disjoint(fn, "dx", dx, dxr, b_name, b, br);
}

// A per-row output vector of `rows` elements, disjoint from the input.
template <class In, class Out>
[[nodiscard]] bool check_row_output(const char* fn, const matrix_view<In>& x, const char* out_name, Out* out) {
  byte_range xr, outr;
  return check_view(fn, "x", x, xr) && check_vector(fn, out_name, out, x.rows, outr) &&
         check_disjoint(fn, out_name, outr, "x", xr);
}

}  // namespace detail
}  // namespace SMAX_ABI
}  // namespace smax
