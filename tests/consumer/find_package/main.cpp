// Uses smax the way the README says: one include, no flags.
#include <smax/smax.hpp>

#include <cmath>
#include <cstdio>

int main() {
  const float logits[5] = {1.0f, -2.0f, 0.5f, 3.0f, 0.0f};
  float probabilities[5];
  smax::softmax(logits, probabilities, 5);
  double sum = 0;
  for (float p : probabilities) sum += p;
  std::printf("smax %d.%d.%d (%s): softmax sums to %.9f\n", SMAX_VERSION_MAJOR, SMAX_VERSION_MINOR, SMAX_VERSION_PATCH,
              smax::isa_name(smax::active_isa()), sum);
  return std::fabs(sum - 1.0) <= 1e-6 ? 0 : 1;
}
