// A non-owning view of a row-major matrix with a row stride.
#pragma once

#include <cstddef>
#include <type_traits>

namespace smax {

/// Rows of `cols` elements, the first at `data`, each starting `stride` elements
/// after the previous one (stride >= cols; stride > cols skips padding, or
/// selects columns of a wider matrix). Views never own memory.
///
///   float logits[8][32];                     // use columns 0..9 of rows 2..5
///   smax::matrix_view<const float> x{&logits[2][0], 4, 10, 32};
template <class T>
struct matrix_view {
  T* data = nullptr;
  std::size_t rows = 0;
  std::size_t cols = 0;
  std::size_t stride = 0;  ///< in elements, not bytes

  constexpr matrix_view() noexcept = default;

  /// A contiguous matrix (stride == cols).
  constexpr matrix_view(T* first, std::size_t row_count, std::size_t col_count) noexcept
      : data(first), rows(row_count), cols(col_count), stride(col_count) {}

  constexpr matrix_view(T* first, std::size_t row_count, std::size_t col_count, std::size_t row_stride) noexcept
      : data(first), rows(row_count), cols(col_count), stride(row_stride) {}

  /// A view of T converts to a view of const T.
  template <class U, class = std::enable_if_t<std::is_same_v<const U, T>>>
  constexpr matrix_view(const matrix_view<U>& other) noexcept  // NOLINT(google-explicit-constructor)
      : data(other.data), rows(other.rows), cols(other.cols), stride(other.stride) {}

  constexpr T* row(std::size_t r) const noexcept { return data + r * stride; }
};

template <class T>
matrix_view(T*, std::size_t, std::size_t) -> matrix_view<T>;
template <class T>
matrix_view(T*, std::size_t, std::size_t, std::size_t) -> matrix_view<T>;

}  // namespace smax
