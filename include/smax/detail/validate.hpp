// Argument checks shared by the public entry points. Each check runs before
// anything is written and reports through report_error (error.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>

#include "../error.hpp"
#include "../matrix_view.hpp"

namespace smax::detail {

template <class T>
inline constexpr bool is_kernel_type_v = std::is_same_v<T, float> || std::is_same_v<T, double>;

inline std::string str(std::size_t v) { return std::to_string(v); }

// The address range [begin, end) a view touches (empty views touch nothing).
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
  constexpr std::size_t kMaxElements = static_cast<std::size_t>(std::numeric_limits<std::ptrdiff_t>::max()) / sizeof(T);
  const std::size_t rows_before_last = v.rows - 1;
  if (v.cols > kMaxElements || rows_before_last > (kMaxElements - v.cols) / v.stride) {
    return report_error(prefix + " has rows = " + str(v.rows) + ", cols = " + str(v.cols) +
                        ", stride = " + str(v.stride) + ": its extent overflows the address space");
  }
  const std::size_t bytes = (rows_before_last * v.stride + v.cols) * sizeof(T);
  const auto begin = reinterpret_cast<std::uintptr_t>(v.data);
  if (begin + bytes < begin) {
    return report_error(prefix + " extends past the end of the address space");
  }
  range = {begin, begin + bytes};
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

// Input and output of a row-wise map (softmax, log_softmax): same shape, each
// valid, and either the very same buffer and stride (in place) or disjoint.
template <class In, class Out>
[[nodiscard]] bool check_map(const char* fn, const matrix_view<In>& x, const char* y_name, const matrix_view<Out>& y) {
  if (x.rows != y.rows || x.cols != y.cols) {
    return report_error(std::string(fn) + ": x is " + str(x.rows) + " x " + str(x.cols) + " but " + y_name + " is " +
                        str(y.rows) + " x " + str(y.cols));
  }
  byte_range xr, yr;
  if (!check_view(fn, "x", x, xr) || !check_view(fn, y_name, y, yr)) return false;
  const bool in_place = static_cast<const void*>(x.data) == static_cast<const void*>(y.data) && x.stride == y.stride &&
                        sizeof(In) == sizeof(Out);
  if (!in_place && xr.overlaps(yr)) {
    return report_error(std::string(fn) + ": " + y_name +
                        " overlaps x without being the same buffer; in-place use needs " + y_name +
                        ".data == x.data and " + y_name + ".stride == x.stride");
  }
  return true;
}

// A per-row output vector of `rows` elements, disjoint from the input.
template <class In, class Out>
[[nodiscard]] bool check_row_output(const char* fn, const matrix_view<In>& x, const char* out_name, Out* out) {
  byte_range xr;
  if (!check_view(fn, "x", x, xr)) return false;
  if (x.rows == 0) return true;
  if (out == nullptr) {
    return report_error(std::string(fn) + ": " + out_name + " is null but x has " + str(x.rows) + " rows");
  }
  constexpr std::size_t kMaxElements =
      static_cast<std::size_t>(std::numeric_limits<std::ptrdiff_t>::max()) / sizeof(Out);
  const auto begin = reinterpret_cast<std::uintptr_t>(out);
  if (x.rows > kMaxElements || begin + x.rows * sizeof(Out) < begin) {
    return report_error(std::string(fn) + ": " + out_name + " would need " + str(x.rows) +
                        " elements, more than the address space holds");
  }
  const byte_range outr{begin, begin + x.rows * sizeof(Out)};
  if (outr.overlaps(xr)) {
    return report_error(std::string(fn) + ": " + out_name + " overlaps x");
  }
  return true;
}

}  // namespace smax::detail
