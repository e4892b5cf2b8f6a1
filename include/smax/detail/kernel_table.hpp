// The per-ISA table of row kernels. A public call validates its arguments, picks
// one table for the active ISA and makes one indirect call that covers all rows.
#pragma once

#include <cstddef>

namespace smax::detail {

template <class T>
struct row_kernels {
  // y[r][c] = f(x[r][:])[c] for r < rows, c < cols; rows are x_stride / y_stride apart.
  using map_fn = void (*)(const T* x, std::size_t x_stride, T* y, std::size_t y_stride, std::size_t rows,
                          std::size_t cols);
  // out[r] = f(x[r][:]).
  using reduce_fn = void (*)(const T* x, std::size_t x_stride, T* out, std::size_t rows, std::size_t cols);

  map_fn softmax;
  map_fn log_softmax;
  reduce_fn logsumexp;
};

struct kernel_table {
  row_kernels<float> f32;
  row_kernels<double> f64;
};

template <class T>
constexpr const row_kernels<T>& kernels_of(const kernel_table& table) noexcept {
  if constexpr (sizeof(T) == sizeof(float)) {
    return table.f32;
  } else {
    return table.f64;
  }
}

}  // namespace smax::detail
