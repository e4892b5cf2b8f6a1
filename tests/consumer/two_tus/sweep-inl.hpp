// The sweep both translation units run, compiled once in each with that TU's
// flags. Everything here has internal linkage so that each TU keeps its own
// copy: the only code the two TUs may share is smax's.
#include <smax/smax.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "two_tus.hpp"

namespace {

template <class T>
std::uint64_t bits_of(T value) {
  if constexpr (sizeof(T) == 4) {
    std::uint32_t b;
    std::memcpy(&b, &value, sizeof b);
    return b;
  } else {
    std::uint64_t b;
    std::memcpy(&b, &value, sizeof b);
    return b;
  }
}

// Inputs must be bitwise the same in both TUs, so they are built from integers
// with exact operations only: a contracted multiply-add in the -mfma TU would
// otherwise change the inputs rather than expose a difference in smax.
template <class T>
std::vector<T> make_row(std::size_t n, std::uint64_t seed) {
  std::uint64_t state = seed * 0x9e3779b97f4a7c15ULL + n;
  auto next = [&state] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return state >> 33;
  };
  // Every third row sits in [90, 100), where exp overflows float without the
  // max subtraction; the others in [-16, 16).
  const bool shifted = seed % 3 == 2;
  std::vector<T> row(n);
  for (std::size_t i = 0; i < n; ++i) {
    const auto k = static_cast<std::int64_t>(next() % 2560);
    row[i] = shifted ? static_cast<T>(90) + static_cast<T>(k) / static_cast<T>(256)
                     : static_cast<T>(k - 1280) / static_cast<T>(80);
    if (next() % 7 == 0) row[i] = -std::numeric_limits<T>::infinity();
  }
  return row;
}

template <class T>
void add(std::vector<two_tus::record>& out, const std::string& label, const T* values, std::size_t n) {
  two_tus::record r{label, {}};
  for (std::size_t i = 0; i < n; ++i) r.bits.push_back(bits_of(values[i]));
  out.push_back(std::move(r));
}

template <class T>
void sweep_type(std::vector<two_tus::record>& out, const char* type) {
  for (std::size_t n = 1; n <= 100; ++n) {
    // The ISA comes first: main.cpp prints one digest per ISA.
    const std::string where = std::string(smax::isa_name(smax::active_isa())) + " " + type + " n=" + std::to_string(n);
    const std::vector<T> x = make_row<T>(n, n);
    std::vector<T> y(n);
    smax::softmax(x.data(), y.data(), n);
    add(out, where + " softmax", y.data(), n);
    smax::log_softmax(x.data(), y.data(), n);
    add(out, where + " log_softmax", y.data(), n);
    const T lse = smax::logsumexp(x.data(), n);
    add(out, where + " logsumexp", &lse, 1);

    // Three rows with padding between them, through the strided forms.
    const std::size_t rows = 3, stride = n + 5;
    std::vector<T> xs(rows * stride, static_cast<T>(0));
    for (std::size_t r = 0; r < rows; ++r) {
      const std::vector<T> row = make_row<T>(n, 1000 + 3 * n + r);
      for (std::size_t c = 0; c < n; ++c) xs[r * stride + c] = row[c];
    }
    std::vector<T> ys(rows * stride, static_cast<T>(0));
    std::vector<T> lses(rows);
    const smax::matrix_view<const T> xv(xs.data(), rows, n, stride);
    const smax::matrix_view<T> yv(ys.data(), rows, n, stride);
    smax::softmax<T>(xv, yv);
    add(out, where + " softmax rows", ys.data(), ys.size());
    smax::log_softmax<T>(xv, yv);
    add(out, where + " log_softmax rows", ys.data(), ys.size());
    smax::logsumexp<T>(xv, lses.data());
    add(out, where + " logsumexp rows", lses.data(), rows);
  }
  // A fully masked row (NaN outputs) and an empty logsumexp (-inf).
  const std::vector<T> masked(5, -std::numeric_limits<T>::infinity());
  std::vector<T> y(masked.size());
  smax::softmax(masked.data(), y.data(), masked.size());
  const std::string isa = smax::isa_name(smax::active_isa());
  add(out, isa + " " + type + " softmax all -inf", y.data(), y.size());
  const T empty = smax::logsumexp(masked.data(), 0);
  add(out, isa + " " + type + " logsumexp empty", &empty, 1);
}

std::vector<two_tus::record> run_sweep() {
  std::vector<two_tus::record> out;
  for (smax::isa which : smax::available_isas()) {
    const smax::scoped_isa use(which);
    sweep_type<float>(out, "float");
    sweep_type<double>(out, "double");
  }
  return out;
}

}  // namespace
