// The input families every kernel is measured on, and the row lengths.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "isas.hpp"

namespace smax_test {

enum class family {
  normal_x1,          // standard normal logits
  normal_x10,         // ... scaled by 10
  normal_x100,        // ... scaled by 100: most terms underflow relative to the max
  shifted_up_1e4,     // standard normal + 1e4 (large magnitudes, ordinary differences)
  shifted_down_1e4,   // standard normal - 1e4
  uniform_90_100,     // overflows exp without max subtraction
  dominant,           // one 0, the rest -100: log_softmax of the 0 is about -n e^-100
  near_max,           // within a few ulps of the largest finite value
  subnormal_results,  // a 0 and the rest down to where results are subnormal or 0
  masked,             // standard normal with about a quarter -inf
};

inline constexpr family kAllFamilies[] = {
    family::normal_x1,         family::normal_x10,     family::normal_x100, family::shifted_up_1e4,
    family::shifted_down_1e4,  family::uniform_90_100, family::dominant,    family::near_max,
    family::subnormal_results, family::masked,
};

inline const char* family_name(family f) {
  switch (f) {
    case family::normal_x1: return "normal*1";
    case family::normal_x10: return "normal*10";
    case family::normal_x100: return "normal*100";
    case family::shifted_up_1e4: return "normal+1e4";
    case family::shifted_down_1e4: return "normal-1e4";
    case family::uniform_90_100: return "U[90,100]";
    case family::dominant: return "dominant";
    case family::near_max: return "near-max";
    case family::subnormal_results: return "subnormal";
    case family::masked: return "masked";
  }
  return "?";
}

// Every tail of the widest vector (16 floats, unrolled four times), lengths
// around powers of two, chunk boundaries (8192 doubles, 16384 floats: longer
// rows are processed in chunks) and rows past 1 MiB (where softmax switches to
// its online scheme).
inline std::vector<std::size_t> accuracy_lengths() {
  std::vector<std::size_t> lengths;
  for (std::size_t n = 1; n <= 4 * 16 + 3; ++n) lengths.push_back(n);
  for (std::size_t n : {100, 127, 128, 129, 255, 256, 257, 1000, 1023, 1024, 1025, 4096, 8193, 10000, 16385, 32000,
                        65537, 128256, 300001}) {
    if (quick_run() && n > 16385) break;
    lengths.push_back(n);
  }
  return lengths;
}

// A deterministic row of family f. Values are generated in double and rounded
// to T; the reference is computed from the rounded values.
template <class T>
std::vector<T> make_row(family f, std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed * 0x9e3779b97f4a7c15ULL + static_cast<std::uint64_t>(f) + 1);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const T max_value = std::numeric_limits<T>::max();
  // The exponent range of T's subnormal results: exp(-110) < 2^-149, exp(-760) < 2^-1074.
  const double deepest = sizeof(T) == sizeof(float) ? 110.0 : 760.0;
  std::vector<T> x(n);
  const std::size_t special = n == 0 ? 0 : static_cast<std::size_t>(unit(rng) * static_cast<double>(n)) % n;
  for (std::size_t i = 0; i < n; ++i) {
    double v = 0;
    switch (f) {
      case family::normal_x1: v = normal(rng); break;
      case family::normal_x10: v = 10 * normal(rng); break;
      case family::normal_x100: v = 100 * normal(rng); break;
      case family::shifted_up_1e4: v = 1e4 + normal(rng); break;
      case family::shifted_down_1e4: v = -1e4 + normal(rng); break;
      case family::uniform_90_100: v = 90 + 10 * unit(rng); break;
      case family::dominant: v = i == special ? 0.0 : -100.0; break;
      case family::near_max: {
        T t = max_value;
        for (int steps = static_cast<int>(unit(rng) * 4); steps > 0; --steps) t = std::nextafter(t, T(0));
        x[i] = t;
        continue;
      }
      case family::subnormal_results: v = i == special ? 0.0 : -deepest * unit(rng); break;
      case family::masked:
        v = (i != special && unit(rng) < 0.25) ? -std::numeric_limits<double>::infinity() : normal(rng);
        break;
    }
    x[i] = static_cast<T>(v);
  }
  return x;
}

}  // namespace smax_test
