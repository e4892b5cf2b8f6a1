// Operations along any dimension of a contiguous row-major tensor.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <limits>
#include <string>

#include "error.hpp"

namespace smax {

/// A contiguous row-major tensor seen as outer x axis x inner, for operations
/// along one of its dimensions (PyTorch's dim): axis is that dimension's size,
/// outer the product of the sizes before it, inner of those after. inner == 1
/// is the last dimension: the row forms, with every option. With inner > 1 the
/// kernels run across inner (each lane one column), without transposing.
struct tensor_axis {
  std::size_t outer = 1;
  std::size_t axis = 0;
  std::size_t inner = 1;
};

inline namespace SMAX_ABI {

/// The tensor_axis of dimension `dim` of a tensor with sizes dims[0..rank)
/// (dim < 0 counts from the end, as in PyTorch). Throws smax::error for a dim
/// out of range or sizes whose product overflows.
inline tensor_axis along_dim(const std::size_t* dims, std::size_t rank, std::ptrdiff_t dim) {
  const auto r = static_cast<std::ptrdiff_t>(rank);
  if (dims == nullptr || rank == 0 || dim < -r || dim >= r) {
    (void)detail::report_error("smax::along_dim: dim = " + std::to_string(dim) + " is out of range for a tensor of " +
                               std::to_string(rank) + " dimensions");
    return {1, 0, 1};
  }
  const auto d = static_cast<std::size_t>(dim < 0 ? dim + r : dim);
  tensor_axis result{1, dims[d], 1};
  std::size_t total = dims[d];
  for (std::size_t i = 0; i < rank; ++i) {
    if (i == d) continue;
    if (dims[i] != 0 && total > std::numeric_limits<std::size_t>::max() / dims[i]) {
      (void)detail::report_error("smax::along_dim: the tensor's size overflows std::size_t");
      return {1, 0, 1};
    }
    total *= dims[i];
    (i < d ? result.outer : result.inner) *= dims[i];
  }
  return result;
}

inline tensor_axis along_dim(std::initializer_list<std::size_t> dims, std::ptrdiff_t dim) {
  return along_dim(dims.begin(), dims.size(), dim);
}

}  // namespace SMAX_ABI
}  // namespace smax
