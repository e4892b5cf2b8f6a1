// Output buffers with guard cells: every element outside the region a call may
// write is filled with a sentinel and checked afterwards.
#pragma once

#include <cstddef>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include <smax/matrix_view.hpp>

namespace smax_test {

// A NaN with a payload no computation produces: a changed guard is detectable
// bit for bit, and a kernel that reads one by mistake propagates a NaN.
template <class T>
T sentinel() {
  if constexpr (std::is_integral_v<T>) {  // class targets: far outside any class range
    return static_cast<T>(std::numeric_limits<T>::min() + 0x5a5a);
  } else if constexpr (sizeof(T) == 2) {  // bfloat16 and half: a NaN in both encodings
    return T::from_bits(0x7fa5u);
  } else if constexpr (sizeof(T) == sizeof(float)) {
    const unsigned bits = 0x7fa5a5a5u;
    float v;
    std::memcpy(&v, &bits, sizeof v);
    return v;
  } else {
    const unsigned long long bits = 0x7ff5a5a5a5a5a5a5ULL;
    double v;
    std::memcpy(&v, &bits, sizeof v);
    return v;
  }
}

// memcmp(a, b, n) == 0, also for n == 0 with null pointers (an empty
// vector's data()), which memcmp itself must not be given.
inline bool same_bytes(const void* a, const void* b, std::size_t bytes) {
  return bytes == 0 || std::memcmp(a, b, bytes) == 0;
}

template <class T>
bool is_sentinel(T v) {
  const T s = sentinel<T>();
  return std::memcmp(&v, &s, sizeof v) == 0;
}

// rows x cols inside a larger allocation: `guard` cells before and after, and
// `stride - cols` padding cells after each row, all holding the sentinel.
template <class T>
class guarded_matrix {
 public:
  static constexpr std::size_t guard = 64;

  guarded_matrix(std::size_t rows, std::size_t cols, std::size_t stride)
      : rows_(rows),
        cols_(cols),
        stride_(stride),
        storage_(2 * guard + (rows == 0 ? 0 : (rows - 1) * stride + cols), sentinel<T>()) {}

  smax::matrix_view<T> view() { return {storage_.data() + guard, rows_, cols_, stride_}; }
  T* data() { return storage_.data() + guard; }
  T& at(std::size_t r, std::size_t c) { return storage_[guard + r * stride_ + c]; }

  // True when every cell outside the rows x cols region still holds the sentinel.
  bool guards_intact() const {
    for (std::size_t i = 0; i < storage_.size(); ++i) {
      const bool inside = i >= guard && i < storage_.size() - guard && (i - guard) % stride_ < cols_;
      if (!inside && !is_sentinel(storage_[i])) return false;
    }
    return true;
  }

  // True when no cell at all changed (for calls that must write nothing).
  bool untouched() const {
    for (const T& v : storage_) {
      if (!is_sentinel(v)) return false;
    }
    return true;
  }

 private:
  std::size_t rows_, cols_, stride_;
  std::vector<T> storage_;
};

}  // namespace smax_test
