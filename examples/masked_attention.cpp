// Masked attention: softmax over each query's row of scores Q K^T, then the
// weighted sum of V. The masks are options of smax::softmax, applied while
// the row is read, so neither a -inf bias matrix nor scaled scores are ever
// written out:
//   - scale = 1/sqrt(d), the attention temperature;
//   - causal with an offset: the new queries come after a KV cache of
//     kCached earlier tokens, so query i may see keys 0 .. kCached + i;
//   - a padding keep-mask per sequence (the second sequence is left-padded).
// A query that sees only padding keys has nothing to attend to: smax gives it
// a row of zeros (and so an output of zeros) where exp/sum of an all -inf row
// would give 0/0 = NaN and spread through every later layer.
//
// The same scores are then stored as bfloat16 (half the bytes to read) and
// turned into float probabilities, with the same options.
//
// The data are made up (a fixed pseudo-random sequence), so the program is
// deterministic; it checks every result against a plain double-precision loop
// and exits non-zero if they disagree.
#include <smax/smax.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <vector>

namespace {

constexpr std::size_t kBatch = 2;                  // sequences
constexpr std::size_t kHeads = 2;                  // attention heads
constexpr std::size_t kQueries = 4;                // new tokens, one query each
constexpr std::size_t kCached = 3;                 // tokens already in the KV cache
constexpr std::size_t kKeys = kCached + kQueries;  // keys each query may look at
constexpr std::size_t kDim = 8;                    // head dimension d
constexpr std::size_t kRows = kHeads * kQueries;   // rows of scores per sequence
// Leading padding keys of each sequence: the second is 4 tokens shorter.
constexpr std::size_t kPadding[kBatch] = {0, 4};

std::vector<float> make_data(std::size_t count, std::uint32_t seed) {
  std::vector<float> data(count);
  for (float& v : data) {  // uniform in [-1, 1)
    seed = seed * 1664525u + 1013904223u;
    v = static_cast<float>(seed >> 8) / 8388608.0f - 1.0f;
  }
  return data;
}

// The reference: masks applied as -inf, softmax and P V in double, each
// formula as written. A row with every key masked is defined as zeros.
void reference_attention(const std::vector<double>& scores, const std::vector<std::uint8_t>& keep, const float* v,
                         std::vector<double>& p, std::vector<double>& out) {
  const double scale = 1.0 / std::sqrt(static_cast<double>(kDim));
  for (std::size_t r = 0; r < kRows; ++r) {
    const std::size_t query = r % kQueries;
    double z[kKeys], max = -std::numeric_limits<double>::infinity(), sum = 0;
    for (std::size_t j = 0; j < kKeys; ++j) {
      const bool visible = keep[j] != 0 && j <= kCached + query;
      z[j] = visible ? scale * scores[r * kKeys + j] : -std::numeric_limits<double>::infinity();
      max = std::fmax(max, z[j]);
    }
    for (std::size_t j = 0; j < kKeys; ++j) sum += std::isinf(z[j]) ? 0.0 : std::exp(z[j] - max);
    for (std::size_t j = 0; j < kKeys; ++j) p[r * kKeys + j] = sum == 0 ? 0.0 : std::exp(z[j] - max) / sum;
    const float* v_head = v + (r / kQueries) * kKeys * kDim;
    for (std::size_t c = 0; c < kDim; ++c) {
      double acc = 0;
      for (std::size_t j = 0; j < kKeys; ++j) acc += p[r * kKeys + j] * v_head[j * kDim + c];
      out[r * kDim + c] = acc;
    }
  }
}

}  // namespace

int main() {
  // Per sequence: heads x queries x d for Q, heads x keys x d for K and V.
  const std::vector<float> q = make_data(kBatch * kRows * kDim, 1);
  const std::vector<float> k = make_data(kBatch * kHeads * kKeys * kDim, 2);
  const std::vector<float> v = make_data(kBatch * kHeads * kKeys * kDim, 3);

  int failures = 0;
  double worst_p = 0, worst_out = 0;
  auto check = [&failures](bool ok, const char* what, std::size_t b, std::size_t r) {
    if (!ok) {
      std::fprintf(stderr, "check failed (sequence %zu, row %zu): %s\n", b, r, what);
      ++failures;
    }
  };

  std::printf("smax %d.%d.%d, %s kernels\n", SMAX_VERSION_MAJOR, SMAX_VERSION_MINOR, SMAX_VERSION_PATCH,
              smax::isa_name(smax::active_isa()));
  for (std::size_t b = 0; b < kBatch; ++b) {
    const float* q_seq = &q[b * kRows * kDim];
    const float* k_seq = &k[b * kHeads * kKeys * kDim];
    const float* v_seq = &v[b * kHeads * kKeys * kDim];

    // Raw Q K^T: the scale is left to softmax, which applies it in the same
    // pass as the masks.
    std::vector<float> scores(kRows * kKeys);
    for (std::size_t r = 0; r < kRows; ++r) {
      const float* k_head = k_seq + (r / kQueries) * kKeys * kDim;
      for (std::size_t j = 0; j < kKeys; ++j) {
        float dot = 0;
        for (std::size_t c = 0; c < kDim; ++c) dot += q_seq[r * kDim + c] * k_head[j * kDim + c];
        scores[r * kKeys + j] = dot;
      }
    }
    std::vector<std::uint8_t> keep(kKeys, 1);
    for (std::size_t j = 0; j < kPadding[b]; ++j) keep[j] = 0;

    // One call per sequence: a keep-mask of one row applies to every row of
    // the call, and its padding is this sequence's. causal_period restarts
    // the causal limit for each head's block of queries.
    smax::softmax_options<float> options;
    options.scale = 1.0 / std::sqrt(static_cast<double>(kDim));
    options.keep = {keep.data(), 1, kKeys};
    options.causal = true;
    options.causal_offset = static_cast<std::ptrdiff_t>(kCached);
    options.causal_period = kQueries;
    std::vector<float> p(kRows * kKeys);
    smax::softmax(scores.data(), p.data(), kRows, kKeys, options);

    // The same scores stored as bfloat16, probabilities in float. The options
    // are typed by the input (a bias would be bfloat16 too), so this call
    // takes its own copy of the settings.
    std::vector<smax::bfloat16> scores_bf16(scores.size());
    for (std::size_t i = 0; i < scores.size(); ++i) scores_bf16[i] = smax::bfloat16(scores[i]);
    smax::softmax_options<smax::bfloat16> options_bf16;
    options_bf16.scale = options.scale;
    options_bf16.keep = options.keep;
    options_bf16.causal = true;
    options_bf16.causal_offset = options.causal_offset;
    options_bf16.causal_period = options.causal_period;
    std::vector<float> p_bf16(kRows * kKeys);
    smax::softmax(scores_bf16.data(), p_bf16.data(), kRows, kKeys, options_bf16);

    std::vector<float> out(kRows * kDim);
    for (std::size_t r = 0; r < kRows; ++r) {
      const float* v_head = v_seq + (r / kQueries) * kKeys * kDim;
      for (std::size_t c = 0; c < kDim; ++c) {
        float acc = 0;
        for (std::size_t j = 0; j < kKeys; ++j) acc += p[r * kKeys + j] * v_head[j * kDim + c];
        out[r * kDim + c] = acc;
      }
    }

    // Each reference from the very scores its smax call was given.
    std::vector<double> exact(scores.begin(), scores.end()), exact_bf16(scores.size());
    for (std::size_t i = 0; i < scores.size(); ++i) exact_bf16[i] = static_cast<float>(scores_bf16[i]);
    std::vector<double> p_ref(kRows * kKeys), out_ref(kRows * kDim), p_bf16_ref(kRows * kKeys), unused(kRows * kDim);
    reference_attention(exact, keep, v_seq, p_ref, out_ref);
    reference_attention(exact_bf16, keep, v_seq, p_bf16_ref, unused);

    std::printf("\nsequence %zu (%zu padding keys), head 0, p(query -> key):\n", b, kPadding[b]);
    for (std::size_t r = 0; r < kRows; ++r) {
      bool fully_masked = true;
      for (std::size_t j = 0; j < kKeys; ++j) {
        const double want = p_ref[r * kKeys + j];
        const float got = p[r * kKeys + j];
        fully_masked = fully_masked && want == 0;
        worst_p = std::fmax(worst_p, std::fabs(got - want));
        worst_p = std::fmax(worst_p, std::fabs(p_bf16[r * kKeys + j] - p_bf16_ref[r * kKeys + j]));
        // NaN fails these comparisons, so it is caught too.
        check(std::fabs(got - want) <= 1e-6, "float probability matches the reference", b, r);
        check(std::fabs(p_bf16[r * kKeys + j] - p_bf16_ref[r * kKeys + j]) <= 1e-6,
              "bf16-input probability matches the reference", b, r);
        if (want == 0) check(got == 0.0f && p_bf16[r * kKeys + j] == 0.0f, "a masked key gets exactly 0", b, r);
      }
      for (std::size_t c = 0; c < kDim; ++c) {
        const double err = std::fabs(out[r * kDim + c] - out_ref[r * kDim + c]);
        worst_out = std::fmax(worst_out, err);
        check(err <= 1e-5, "attention output matches the reference", b, r);
        if (fully_masked) check(out[r * kDim + c] == 0.0f, "a query with no visible key outputs zeros", b, r);
      }
      if (r >= kQueries) continue;  // print head 0 only
      std::printf("  query %zu:", r);
      for (std::size_t j = 0; j < kKeys; ++j) std::printf(" %6.3f", static_cast<double>(p[r * kKeys + j]));
      std::printf("%s\n", fully_masked ? "   <- every key masked: zeros, not NaN" : "");
    }
  }
  std::printf("\nlargest |smax - reference|: probabilities %.2g, attention output %.2g\n", worst_p, worst_out);

  if (failures > 0) {
    std::fprintf(stderr, "%d checks failed\n", failures);
    return 1;
  }
  return 0;
}
