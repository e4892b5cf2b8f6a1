// Uses smax from a C++20 project that add_subdirectory()s it.
#include <smax/smax.hpp>

#include <cmath>
#include <cstdio>
#include <limits>
#include <vector>

int main() {
  // Two rows; the second has a masked-out entry, which must get exactly 0.
  const std::vector<double> logits = {0.5, 1.5, -1.0, 2.0, -std::numeric_limits<double>::infinity(), 0.0};
  std::vector<double> probabilities(logits.size());
  smax::softmax(logits.data(), probabilities.data(), 2, 3);
  int failures = 0;
  for (int row = 0; row < 2; ++row) {
    const double sum = probabilities[3 * row] + probabilities[3 * row + 1] + probabilities[3 * row + 2];
    std::printf("row %d: softmax sums to %.17g\n", row, sum);
    if (std::fabs(sum - 1.0) > 1e-12) ++failures;
  }
  if (probabilities[4] != 0.0) ++failures;
  // logsumexp of the first row is the log of softmax's denominator.
  const double lse = smax::logsumexp(logits.data(), 3);
  const double expected = std::log(std::exp(0.5) + std::exp(1.5) + std::exp(-1.0));
  std::printf("logsumexp = %.17g (expected %.17g)\n", lse, expected);
  if (std::fabs(lse - expected) > 1e-14) ++failures;
  return failures == 0 ? 0 : 1;
}
