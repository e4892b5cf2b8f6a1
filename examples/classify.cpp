// From classifier logits to predictions: softmax turns a batch of logits into
// class probabilities, and logsumexp / log_softmax give the log-likelihood of
// the true labels (the cross-entropy loss) without ever computing log(p), which
// underflows to -inf for confident mistakes.
//
// The logits are made up (a fixed pseudo-random batch), so the program is
// deterministic; it checks its own results and exits non-zero if they are off.
#include <smax/smax.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <vector>

namespace {

constexpr std::size_t kClasses = 10;
constexpr const char* kClassNames[kClasses] = {"airplane", "automobile", "bird",  "cat",  "deer",
                                               "dog",      "frog",       "horse", "ship", "truck"};

struct image {
  const char* name;
  std::size_t label;  // the true class
  std::size_t guess;  // the class the made-up network favours
  float margin;       // how strongly it favours it
};

// The network is right on most images, unsure on one and confidently wrong on
// the last (a large loss that log(softmax) would turn into -log(0) = inf).
constexpr image kBatch[] = {
    {"img_000.png", 3, 3, 6.0f},   {"img_001.png", 8, 8, 4.5f}, {"img_002.png", 1, 1, 9.0f},
    {"img_003.png", 5, 3, 0.4f},   {"img_004.png", 6, 6, 3.0f}, {"img_005.png", 0, 0, 7.5f},
    {"img_006.png", 2, 4, 120.0f},
};
constexpr std::size_t kImages = sizeof kBatch / sizeof kBatch[0];

std::vector<float> make_logits() {
  std::uint32_t state = 2026;
  auto noise = [&state] {  // uniform in [-1, 1)
    state = state * 1664525u + 1013904223u;
    return static_cast<float>(state >> 8) / 8388608.0f - 1.0f;
  };
  std::vector<float> logits(kImages * kClasses);
  for (std::size_t i = 0; i < kImages; ++i) {
    for (std::size_t c = 0; c < kClasses; ++c) logits[i * kClasses + c] = 2.0f * noise();
    logits[i * kClasses + kBatch[i].guess] += kBatch[i].margin;
  }
  // Image 4 is known not to show a vehicle: masking a class with -inf gives
  // it probability exactly 0 and leaves the others a proper distribution.
  for (std::size_t c : {0, 1, 8, 9}) logits[4 * kClasses + c] = -std::numeric_limits<float>::infinity();
  return logits;
}

}  // namespace

int main() {
  const std::vector<float> logits = make_logits();

  // One call each for the whole batch: rows are images, columns are classes.
  std::vector<float> probabilities(logits.size());
  std::vector<float> log_probabilities(logits.size());
  std::vector<float> log_normaliser(kImages);
  smax::softmax(logits.data(), probabilities.data(), kImages, kClasses);
  smax::log_softmax(logits.data(), log_probabilities.data(), kImages, kClasses);
  smax::logsumexp(logits.data(), log_normaliser.data(), kImages, kClasses);

  int failures = 0;
  auto check = [&failures](bool ok, const char* what, std::size_t i) {
    if (!ok) {
      std::fprintf(stderr, "check failed for image %zu: %s\n", i, what);
      ++failures;
    }
  };

  std::printf("smax %d.%d.%d, %s kernels\n\n", SMAX_VERSION_MAJOR, SMAX_VERSION_MINOR, SMAX_VERSION_PATCH,
              smax::isa_name(smax::active_isa()));
  std::printf("%-12s %-10s %-10s %10s %12s\n", "image", "label", "predicted", "confidence", "-log p(label)");
  double total_loss = 0;
  std::size_t correct = 0;
  for (std::size_t i = 0; i < kImages; ++i) {
    const float* p = &probabilities[i * kClasses];
    const float* x = &logits[i * kClasses];
    std::size_t top = 0, top_logit = 0;
    double sum = 0;
    for (std::size_t c = 0; c < kClasses; ++c) {
      sum += p[c];
      if (p[c] > p[top]) top = c;
      if (x[c] > x[top_logit]) top_logit = c;
    }
    const std::size_t label = kBatch[i].label;
    // Two routes to the loss: -log_softmax[label], and logsumexp - logit[label].
    const double loss = -static_cast<double>(log_probabilities[i * kClasses + label]);
    const double loss_via_lse = static_cast<double>(log_normaliser[i]) - static_cast<double>(x[label]);
    total_loss += loss;
    correct += top == label;

    std::printf("%-12s %-10s %-10s %9.2f%% %12.4f\n", kBatch[i].name, kClassNames[label], kClassNames[top],
                100.0 * p[top], loss);

    check(std::fabs(sum - 1.0) <= 1e-6, "probabilities sum to 1", i);
    check(top == top_logit, "the top class is the one with the largest logit", i);
    check(std::isfinite(loss) && loss >= 0, "the loss is finite and non-negative", i);
    check(std::fabs(loss - loss_via_lse) <= 1e-5 * std::fmax(1.0, loss), "both routes give the same loss", i);
    for (std::size_t c = 0; c < kClasses; ++c) {
      if (std::isinf(x[c])) check(p[c] == 0.0f, "a masked class has probability 0", i);
    }
  }
  std::printf("\naccuracy %zu/%zu, mean cross-entropy %.4f nats\n", correct, kImages, total_loss / kImages);

  // The confident mistake: its label's probability underflows to 0 in float,
  // so log(softmax) would give an infinite loss; log_softmax gives ~120.
  const std::size_t last = kImages - 1;
  const float p_label = probabilities[last * kClasses + kBatch[last].label];
  const float log_p_label = log_probabilities[last * kClasses + kBatch[last].label];
  std::printf("%s: p(%s) = %g in float, log p(%s) = %.4f\n", kBatch[last].name, kClassNames[kBatch[last].label],
              static_cast<double>(p_label), kClassNames[kBatch[last].label], static_cast<double>(log_p_label));
  check(p_label == 0.0f && log_p_label < -100.0f, "log_softmax is finite where softmax underflows", last);

  if (failures > 0) {
    std::fprintf(stderr, "%d checks failed\n", failures);
    return 1;
  }
  return 0;
}
