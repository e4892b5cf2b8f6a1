#include "common.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <iterator>
#include <limits>
#include <map>
#include <smax/smax.hpp>
#include <sstream>

namespace smax_bench {

const char* op_name(op which) {
  switch (which) {
    case op::softmax: return "softmax";
    case op::log_softmax: return "log_softmax";
    case op::logsumexp: return "logsumexp";
    case op::cross_entropy: return "cross_entropy";
    case op::cross_entropy_fused: return "cross_entropy_fused";
    case op::softmax_backward: return "softmax_backward";
    case op::log_softmax_backward: return "log_softmax_backward";
    case op::logsumexp_backward: return "logsumexp_backward";
  }
  return "unknown";
}

std::string entry_name(const std::string& op_label, const char* dtype, const std::string& contender, shape s) {
  return op_label + "/" + dtype + "/" + contender + "/" + std::to_string(s.rows) + "x" + std::to_string(s.cols);
}

bool wanted(const std::string& contender) {
  const char* list = std::getenv("SMAX_BENCH_CONTENDERS");
  if (list == nullptr || *list == '\0') return true;
  std::stringstream items(list);
  std::string prefix;
  while (std::getline(items, prefix, ',')) {
    if (!prefix.empty() && contender.compare(0, prefix.size(), prefix) == 0) return true;
  }
  return false;
}

std::int64_t bytes_per_call(op which, shape s, std::size_t element_size) {
  const std::size_t n = s.size(), rows = s.rows, e = element_size;
  // An int64 class index a row.
  const std::size_t targets = rows * sizeof(std::int64_t);
  std::size_t bytes = 0;
  switch (which) {
    // x read, y written.
    case op::softmax:
    case op::log_softmax: bytes = 2 * n * e; break;
    // x read, one value a row written.
    case op::logsumexp: bytes = (n + rows) * e; break;
    // The logits read once and the targets; the loss is returned, not stored.
    case op::cross_entropy: bytes = n * e + targets; break;
    // As cross_entropy, plus the gradient written (to its own buffer here).
    case op::cross_entropy_fused: bytes = 2 * n * e + targets; break;
    // y and dy read, dx written.
    case op::softmax_backward:
    case op::log_softmax_backward: bytes = 3 * n * e; break;
    // x read and dx written, plus lse and dlse: one value a row each.
    case op::logsumexp_backward: bytes = (2 * n + 2 * rows) * e; break;
  }
  return static_cast<std::int64_t>(bytes);
}

std::size_t rotation_bytes() {
  static const std::size_t bytes = [] {
    if (const char* text = std::getenv("SMAX_BENCH_ROTATE_BYTES")) return static_cast<std::size_t>(std::atoll(text));
    // Four times L2 leaves nothing of a slot in L2 by the time the loop returns
    // to it, even with the adaptive replacement of recent cores.
    const long l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);
    return 4 * static_cast<std::size_t>(l2 > 0 ? l2 : 1L << 20);
  }();
  return bytes;
}

namespace {

// splitmix64 and Box-Muller written out, because std::normal_distribution
// (and std::uniform_int_distribution) differ between standard libraries and
// the inputs must not.
std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

class normal_source {
 public:
  explicit normal_source(std::uint64_t seed) : state_(seed) {}

  double next() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    // u1 in (0, 1] keeps log(u1) finite.
    const double u1 = (static_cast<double>(bits() >> 11) + 1.0) * 0x1p-53;
    const double u2 = static_cast<double>(bits() >> 11) * 0x1p-53;
    const double radius = std::sqrt(-2.0 * std::log(u1));
    const double angle = 6.283185307179586 * u2;
    spare_ = radius * std::sin(angle);
    has_spare_ = true;
    return radius * std::cos(angle);
  }

 private:
  std::uint64_t bits() { return splitmix64(state_); }

  std::uint64_t state_;
  double spare_ = 0.0;
  bool has_spare_ = false;
};

// Float values are the double values rounded, so both dtypes see one input.
template <class T>
void fill_normal(T* p, std::size_t count, std::uint64_t seed) {
  normal_source source(seed);
  for (std::size_t i = 0; i < count; ++i) p[i] = static_cast<T>(source.next());
}

constexpr std::uint64_t kLogitSeed = 0x5eedULL, kUpstreamSeed = 0xd1ffULL, kRowUpstreamSeed = 0xd15eULL,
                        kTargetSeed = 0x7a26e7ULL;

template <class T>
T* allocate(std::size_t count) {
  // Cache-line alignment, as the peers' own allocators give; the size is rounded
  // up because aligned_alloc wants a multiple of the alignment.
  const std::size_t bytes = std::max<std::size_t>(64, (count * sizeof(T) + 63) / 64 * 64);
  void* p = std::aligned_alloc(64, bytes);
  if (p == nullptr) {
    std::fprintf(stderr, "smax_bench: cannot allocate %zu bytes\n", bytes);
    std::exit(1);
  }
  // Touching every page now keeps page faults out of the first timed calls.
  std::memset(p, 0, bytes);
  return static_cast<T*>(p);
}

// Largest differences that still count as agreement: far above any correct
// implementation's rounding, far below what a wrong axis, a missing max
// subtraction or a lost sum produces.
template <class T>
double tolerance(op which) {
  const bool single = sizeof(T) == sizeof(float);
  // Results of tens (log-probabilities, logsumexp) have ulps near 1e-6 in
  // float; the others (probabilities, gradients) stay within a few units.
  if (which == op::log_softmax || which == op::logsumexp) return single ? 1e-4 : 1e-9;
  return single ? 1e-5 : 1e-10;
}

// Relative, for the loss of the cross-entropy ops.
template <class T>
double loss_tolerance() {
  return sizeof(T) == sizeof(float) ? 1e-5 : 1e-10;
}

// log(sum(exp(x))) of one row in long double, for the exact values that a
// disagreement names.
template <class T>
long double exact_row_lse(const T* x, std::size_t cols) {
  long double m = -std::numeric_limits<long double>::infinity();
  for (std::size_t c = 0; c < cols; ++c) m = std::max<long double>(m, x[c]);
  long double sum = 0;
  for (std::size_t c = 0; c < cols; ++c) sum += std::exp(static_cast<long double>(x[c]) - m);
  return m + std::log(sum);
}

// Google Benchmark calls an entry's function several times per repetition
// while it sizes the iteration count; the check runs on the first call only.
const std::string& checked(const std::string& entry, const std::function<std::string()>& check) {
  static std::map<std::string, std::string> verdicts;
  auto found = verdicts.find(entry);
  if (found != verdicts.end()) return found->second;
  std::string verdict;
  try {
    verdict = check();
  } catch (const std::exception& e) {
    verdict = std::string("failed: ") + e.what();
  }
  return verdicts.emplace(entry, verdict).first->second;
}

}  // namespace

template <class T>
void workspace<T>::free_deleter::operator()(T* p) const {
  std::free(p);
}

template <class T>
workspace<T>::workspace(shape s) : dims_(s) {
  const std::size_t n = s.size();
  const std::size_t slot_bytes = static_cast<std::size_t>(bytes_per_call(op::softmax, s, sizeof(T)));
  const std::size_t slots = std::max<std::size_t>(1, (rotation_bytes() + slot_bytes - 1) / slot_bytes);

  // Logits of standard normal distribution, the same for every dtype and
  // every run.
  buffer first(allocate<T>(n));
  fill_normal(first.get(), n, kLogitSeed);
  inputs_.push_back(std::move(first));
  for (std::size_t k = 1; k < slots; ++k) {
    buffer copy(allocate<T>(n));
    std::memcpy(copy.get(), inputs_[0].get(), n * sizeof(T));
    inputs_.push_back(std::move(copy));
  }
  for (std::size_t k = 0; k < slots; ++k) outputs_.emplace_back(allocate<T>(n));
  losses_.assign(slots, T(0));
}

template <class T>
std::vector<typename workspace<T>::buffer> workspace<T>::per_slot(std::size_t count,
                                                                  const std::function<void(T*)>& fill) const {
  std::vector<buffer> result;
  buffer first(allocate<T>(count));
  fill(first.get());
  result.push_back(std::move(first));
  for (std::size_t k = 1; k < slots(); ++k) {
    buffer copy(allocate<T>(count));
    std::memcpy(copy.get(), result[0].get(), count * sizeof(T));
    result.push_back(std::move(copy));
  }
  return result;
}

template <class T>
void workspace<T>::prepare(op which) {
  const std::size_t rows = dims_.rows, n = dims_.size();
  const auto copy_of = [](const std::vector<T>& from) {
    return [&from](T* to) { std::copy(from.begin(), from.end(), to); };
  };
  switch (which) {
    case op::cross_entropy:
    case op::cross_entropy_fused:
      if (targets_.empty()) {
        std::uint64_t state = kTargetSeed;
        targets_.resize(rows);
        // The modulo's bias (under 2^-40 here) does not matter for timing.
        for (std::int64_t& t : targets_) t = static_cast<std::int64_t>(splitmix64(state) % dims_.cols);
      }
      break;
    case op::softmax_backward:
    case op::log_softmax_backward: {
      if (upstream_.empty()) upstream_ = per_slot(n, [n](T* p) { fill_normal(p, n, kUpstreamSeed); });
      std::vector<buffer>& y = forward_[which == op::softmax_backward ? 0 : 1];
      if (y.empty()) y = per_slot(n, copy_of(reference(which == op::softmax_backward ? op::softmax : op::log_softmax)));
      break;
    }
    case op::logsumexp_backward:
      if (row_lse_.empty()) {
        row_lse_ = per_slot(rows, copy_of(reference(op::logsumexp)));
        row_upstream_ = per_slot(rows, [rows](T* p) { fill_normal(p, rows, kRowUpstreamSeed); });
      }
      break;
    case op::softmax:
    case op::log_softmax:
    case op::logsumexp: break;
  }
}

template <class T>
workspace<T>& workspace<T>::get(shape s) {
  static std::unique_ptr<workspace> current;
  if (!current || current->dims_.rows != s.rows || current->dims_.cols != s.cols) {
    current.reset();  // free the old buffers before the new ones take memory
    current.reset(new workspace(s));
  }
  return *current;
}

template <class T>
void workspace<T>::compute_reference(op which) {
  const auto i = static_cast<std::size_t>(which);
  if (referenced_[i]) return;
  prepare(which);
  std::vector<T>& result = references_[i];
  result.assign(output_size(which), T(0));
  const smax::scoped_isa fastest(smax::available_isas().back());
  const T* x = input(0);
  const std::size_t rows = dims_.rows, cols = dims_.cols;
  switch (which) {
    case op::softmax: smax::softmax<T>(x, result.data(), rows, cols); break;
    case op::log_softmax: smax::log_softmax<T>(x, result.data(), rows, cols); break;
    case op::logsumexp: smax::logsumexp<T>(x, result.data(), rows, cols); break;
    case op::cross_entropy: reference_losses_[i] = smax::cross_entropy(x, targets(), rows, cols); break;
    case op::cross_entropy_fused:
      reference_losses_[i] = smax::cross_entropy_with_grad(x, targets(), result.data(), rows, cols);
      break;
    case op::softmax_backward:
      smax::softmax_backward<T>(forward_output(which, 0), upstream(0), result.data(), rows, cols);
      break;
    case op::log_softmax_backward:
      smax::log_softmax_backward<T>(forward_output(which, 0), upstream(0), result.data(), rows, cols);
      break;
    case op::logsumexp_backward:
      smax::logsumexp_backward<T>(x, row_lse(0), row_upstream(0), result.data(), rows, cols);
      break;
  }
  referenced_[i] = true;
}

template <class T>
const std::vector<T>& workspace<T>::reference(op which) {
  compute_reference(which);
  return references_[static_cast<std::size_t>(which)];
}

template <class T>
double workspace<T>::reference_loss(op which) {
  compute_reference(which);
  return reference_losses_[static_cast<std::size_t>(which)];
}

template <class T>
long double workspace<T>::exact_at(op which, std::size_t row, std::size_t col) const {
  const std::size_t cols = dims_.cols;
  const std::size_t at = row * cols;
  const T* x = input(0) + at;
  switch (which) {
    case op::softmax: return std::exp(x[col] - exact_row_lse(x, cols));
    case op::log_softmax: return x[col] - exact_row_lse(x, cols);
    case op::logsumexp: return exact_row_lse(x, cols);
    case op::cross_entropy: break;
    case op::cross_entropy_fused: {
      const long double p = std::exp(x[col] - exact_row_lse(x, cols));
      return (p - (static_cast<std::int64_t>(col) == targets_[row] ? 1 : 0)) / static_cast<long double>(dims_.rows);
    }
    case op::softmax_backward: {
      const T* y = forward_output(which, 0) + at;
      const T* dy = upstream(0) + at;
      long double dot = 0;
      for (std::size_t c = 0; c < cols; ++c) dot += static_cast<long double>(dy[c]) * y[c];
      return y[col] * (dy[col] - dot);
    }
    case op::log_softmax_backward: {
      const T* y = forward_output(which, 0) + at;
      const T* dy = upstream(0) + at;
      long double sum = 0;
      for (std::size_t c = 0; c < cols; ++c) sum += dy[c];
      return dy[col] - std::exp(static_cast<long double>(y[col])) * sum;
    }
    case op::logsumexp_backward:
      return row_upstream(0)[row] * std::exp(static_cast<long double>(x[col]) - row_lse(0)[row]);
  }
  return std::numeric_limits<long double>::quiet_NaN();
}

template <class T>
long double workspace<T>::exact_loss() const {
  long double sum = 0;
  for (std::size_t r = 0; r < dims_.rows; ++r) {
    const T* x = input(0) + r * dims_.cols;
    sum += exact_row_lse(x, dims_.cols) - x[targets_[r]];
  }
  return sum / static_cast<long double>(dims_.rows);
}

template <class T>
void workspace<T>::poison(op which) {
  // A contender that writes nothing must not pass on what the previous one left.
  const T nan = std::numeric_limits<T>::quiet_NaN();
  std::fill(output(0), output(0) + output_size(which), nan);
  losses_[0] = nan;
}

template <class T>
std::string workspace<T>::disagreement(op which) {
  const int digits = std::numeric_limits<T>::max_digits10;
  if (has_loss(which)) {
    const double expected = reference_loss(which);
    const double got = static_cast<double>(losses_[0]);
    const double limit = loss_tolerance<T>();
    // Written so that a NaN on either side disagrees.
    if (!(std::fabs(got - expected) <= limit * std::fabs(expected))) {
      char text[320];
      std::snprintf(text, sizeof text,
                    "loss disagrees with smax: relative diff %.3g (limit %.0e): %.*g, smax %.*g, exact %.*g",
                    std::fabs(got - expected) / std::fabs(expected), limit, digits, got, digits, expected, digits,
                    static_cast<double>(exact_loss()));
      return text;
    }
  }
  if (!has_output(which)) return {};

  const std::vector<T>& expected = reference(which);
  const T* got = output(0);
  double worst = 0.0;
  std::size_t worst_at = 0;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const double diff = std::fabs(static_cast<double>(got[i]) - static_cast<double>(expected[i]));
    // Written so that a NaN on either side counts as the worst difference.
    if (!(diff <= worst)) {
      worst = std::isnan(diff) ? std::numeric_limits<double>::infinity() : diff;
      worst_at = i;
      if (std::isnan(diff)) break;
    }
  }
  const double limit = tolerance<T>(which);
  if (worst < limit) return {};

  // The exact value at that place tells the reader which side is off.
  const std::size_t cols = which == op::logsumexp ? 1 : dims_.cols;
  const std::size_t row = worst_at / cols, col = worst_at % cols;
  const long double exact = exact_at(which, row, col);
  char text[320];
  std::snprintf(text, sizeof text,
                "disagrees with smax: max |diff| = %.3g (limit %.0e) at row %zu col %zu: %.*g, smax %.*g, exact %.*g",
                worst, limit, row, col, digits, static_cast<double>(got[worst_at]), digits,
                static_cast<double>(expected[worst_at]), digits, static_cast<double>(exact));
  return text;
}

template <class T>
void run_entry(benchmark::State& state, const std::string& entry, op which, shape s, const preparer<T>& prepare,
               on_disagreement policy) {
  workspace<T>& ws = workspace<T>::get(s);
  call run;
  try {
    ws.prepare(which);
    run = prepare(ws);
  } catch (const std::exception& e) {
    state.SkipWithError((std::string("setup failed: ") + e.what()).c_str());
    return;
  }

  if (policy != on_disagreement::unchecked) {
    const std::string& verdict = checked(entry, [&] {
      ws.poison(which);
      run(0);
      return ws.disagreement(which);
    });
    if (!verdict.empty() && policy == on_disagreement::skip) {
      state.SkipWithError(verdict.c_str());
      return;
    }
    if (!verdict.empty()) state.SetLabel("inaccurate: " + verdict);
  }

  const std::size_t slots = ws.slots();
  std::size_t slot = 0;
  for (auto _ : state) {
    run(slot);
    benchmark::ClobberMemory();
    slot = slot + 1 == slots ? 0 : slot + 1;
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(s.size()));
  state.SetBytesProcessed(state.iterations() * bytes_per_call(which, s, sizeof(T)));
}

namespace {

struct queued {
  std::string name;
  entry_order order;
  std::function<void(benchmark::State&)> body;
};

std::vector<queued>& queue() {
  static std::vector<queued> entries;
  return entries;
}

}  // namespace

void queue_entry(const std::string& name, entry_order order, std::function<void(benchmark::State&)> body) {
  queue().push_back({name, order, std::move(body)});
}

void register_queued() {
  std::vector<queued>& entries = queue();
  // Stable, so the contenders of one (dtype, shape, op) keep the order main()
  // registered them in.
  std::stable_sort(entries.begin(), entries.end(), [](const queued& a, const queued& b) {
    if (a.order.dtype != b.order.dtype) return a.order.dtype < b.order.dtype;
    if (a.order.shape != b.order.shape) return a.order.shape < b.order.shape;
    return a.order.op < b.order.op;
  });
  for (const queued& entry : entries) {
    // CPU time rather than wall time: every contender runs on one thread, and
    // on a shared machine CPU time leaves out the slices other processes take.
    // report.py flags any entry whose CPU time exceeds its wall time (a
    // contender that used more threads than asked).
    benchmark::RegisterBenchmark(entry.name.c_str(), entry.body)->Unit(benchmark::kMicrosecond);
  }
  entries.clear();
}

template <class T>
void register_entries(const std::string& contender, std::initializer_list<op> ops,
                      const std::function<preparer<T>(op)>& make, on_disagreement policy) {
  if (!wanted(contender)) return;
  for (op which : ops) {
    const preparer<T> prepare = make(which);
    for (std::size_t k = 0; k < std::size(kShapes); ++k) {
      const shape s = kShapes[k];
      const entry_order order{sizeof(T) == sizeof(float) ? 0 : 1, k, static_cast<int>(which)};
      const std::string name = entry_name(op_name(which), dtype_name<T>(), contender, s);
      queue_entry(name, order, [=](benchmark::State& state) { run_entry<T>(state, name, which, s, prepare, policy); });
    }
  }
}

// ------------------------------------------------------------ tensor groups

namespace {

struct group_info {
  const char* op;
  const char* dtype;
  int order;  // entry_order::dtype: after float (0) and double (1)
  bool rows;  // on kShapes, else on kAxisShapes
};

group_info info(group g) {
  switch (g) {
    case group::bf16: return {"softmax", "bf16", 2, true};
    case group::f16: return {"softmax", "f16", 3, true};
    case group::bf16_f32: return {"softmax", "bf16-f32", 4, true};
    case group::axis: return {"softmax_axis", "f32", 5, false};
    case group::axis_last: return {"softmax_axis_last", "f32", 5, false};
  }
  return {"unknown", "unknown", 9, true};
}

std::string tensor_name(const std::string& op_label, const char* dtype, const std::string& contender, tensor_shape s) {
  return op_label + "/" + dtype + "/" + contender + "/" + std::to_string(s.outer) + "x" + std::to_string(s.axis) + "x" +
         std::to_string(s.inner);
}

// Largest differences from smax's reference that count as agreement, as
// |diff| <= relative * |reference| + absolute. Float: as the float row
// entries. Two-byte results: two to four units in the last place (a peer that
// rounds float's result once and smax, within one unit of the correctly
// rounded value, may differ by two), plus a unit or two of the smallest
// subnormal. A wrong axis, a lost max or a missing normalisation are far
// outside.
template <class Out>
struct output_tolerance {
  static constexpr double relative = 0.0, absolute = 1e-5;
};
template <>
struct output_tolerance<smax::bfloat16> {
  static constexpr double relative = 0x1p-6, absolute = 0x1p-133;
};
template <>
struct output_tolerance<smax::half> {
  static constexpr double relative = 0x1p-9, absolute = 0x1p-23;
};

// Bytes one softmax reads and writes.
template <class In, class Out>
std::int64_t tensor_bytes(tensor_shape s) {
  return static_cast<std::int64_t>(s.size() * (sizeof(In) + sizeof(Out)));
}

// smax's softmax as a user calls it: the row form when the axis is last, the
// tensor_axis form otherwise.
template <class In, class Out>
void smax_softmax(const In* x, Out* y, tensor_shape s) {
  if (s.inner == 1) {
    smax::softmax<In>(x, y, s.outer, s.axis);
  } else {
    smax::softmax<In>(x, y, smax::tensor_axis{s.outer, s.axis, s.inner});
  }
}

}  // namespace

template <class In, class Out>
template <class U>
void tensor_workspace<In, Out>::free_deleter<U>::operator()(U* p) const {
  std::free(p);
}

template <class In, class Out>
tensor_workspace<In, Out>::tensor_workspace(tensor_shape s) : dims_(s) {
  const std::size_t n = s.size();
  const auto slot_bytes = static_cast<std::size_t>(tensor_bytes<In, Out>(s));
  const std::size_t slots = std::max<std::size_t>(1, (rotation_bytes() + slot_bytes - 1) / slot_bytes);
  // Through float, so that the two-byte inputs are the float row entries'
  // inputs rounded once.
  buffer<In> first(allocate<In>(n));
  normal_source source(kLogitSeed);
  for (std::size_t i = 0; i < n; ++i) first[i] = static_cast<In>(static_cast<float>(source.next()));
  inputs_.push_back(std::move(first));
  for (std::size_t k = 1; k < slots; ++k) {
    buffer<In> copy(allocate<In>(n));
    std::memcpy(static_cast<void*>(copy.get()), inputs_[0].get(), n * sizeof(In));
    inputs_.push_back(std::move(copy));
  }
  for (std::size_t k = 0; k < slots; ++k) outputs_.emplace_back(allocate<Out>(n));
}

template <class In, class Out>
tensor_workspace<In, Out>& tensor_workspace<In, Out>::get(tensor_shape s) {
  static std::unique_ptr<tensor_workspace> current;
  if (!current || current->dims_.outer != s.outer || current->dims_.axis != s.axis || current->dims_.inner != s.inner) {
    current.reset();  // free the old buffers before the new ones take memory
    current.reset(new tensor_workspace(s));
  }
  return *current;
}

template <class In, class Out>
const std::vector<float>& tensor_workspace<In, Out>::reference() {
  if (reference_.empty() && dims_.size() > 0) {
    const smax::scoped_isa fastest(smax::available_isas().back());
    buffer<Out> y(allocate<Out>(dims_.size()));
    smax_softmax(input(0), y.get(), dims_);
    reference_.assign(dims_.size(), 0.0f);
    for (std::size_t i = 0; i < dims_.size(); ++i) reference_[i] = static_cast<float>(y[i]);
  }
  return reference_;
}

template <class In, class Out>
void tensor_workspace<In, Out>::poison() {
  const Out nan = static_cast<Out>(std::numeric_limits<float>::quiet_NaN());
  std::fill(output(0), output(0) + dims_.size(), nan);
}

template <class In, class Out>
std::string tensor_workspace<In, Out>::disagreement() {
  constexpr double relative = output_tolerance<Out>::relative, absolute = output_tolerance<Out>::absolute;
  const std::vector<float>& expected = reference();
  const Out* got = output(0);
  // The difference in units of the allowed one: above 1 disagrees.
  double worst = 0.0;
  std::size_t worst_at = 0;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const double want = expected[i];
    const double excess =
        std::fabs(static_cast<double>(static_cast<float>(got[i])) - want) / (relative * std::fabs(want) + absolute);
    // Written so that a NaN on either side counts as the worst difference.
    if (!(excess <= worst)) {
      worst = std::isnan(excess) ? std::numeric_limits<double>::infinity() : excess;
      worst_at = i;
      if (std::isnan(excess)) break;
    }
  }
  if (worst <= 1.0) return {};

  // The exact value at that place tells the reader which side is off.
  const std::size_t inner = dims_.inner, axis = dims_.axis;
  const std::size_t o = worst_at / (axis * inner), a = worst_at / inner % axis, j = worst_at % inner;
  const In* x = input(0) + o * axis * inner + j;
  long double m = -std::numeric_limits<long double>::infinity(), sum = 0;
  for (std::size_t c = 0; c < axis; ++c) m = std::max<long double>(m, static_cast<float>(x[c * inner]));
  for (std::size_t c = 0; c < axis; ++c)
    sum += std::exp(static_cast<long double>(static_cast<float>(x[c * inner])) - m);
  const long double exact = std::exp(static_cast<long double>(static_cast<float>(x[a * inner])) - m) / sum;
  const double diff = std::fabs(static_cast<double>(static_cast<float>(got[worst_at])) - expected[worst_at]);
  char text[320];
  std::snprintf(text, sizeof text,
                "disagrees with smax: |diff| = %.3g (%.3g x the limit %.0e x |smax| + %.0e) at [%zu, %zu, %zu]: "
                "%.9g, smax %.9g, exact %.9g",
                diff, worst, relative, absolute, o, a, j, static_cast<double>(static_cast<float>(got[worst_at])),
                static_cast<double>(expected[worst_at]), static_cast<double>(exact));
  return text;
}

namespace {

// The body of every tensor-group entry, as run_entry is of the row entries.
template <class In, class Out>
void run_tensor_entry(benchmark::State& state, const std::string& entry, tensor_shape s,
                      const tensor_preparer<In, Out>& prepare, on_disagreement policy) {
  tensor_workspace<In, Out>& ws = tensor_workspace<In, Out>::get(s);
  call run;
  try {
    run = prepare(ws);
  } catch (const std::exception& e) {
    state.SkipWithError((std::string("setup failed: ") + e.what()).c_str());
    return;
  }

  if (policy != on_disagreement::unchecked) {
    const std::string& verdict = checked(entry, [&] {
      ws.poison();
      run(0);
      return ws.disagreement();
    });
    if (!verdict.empty() && policy == on_disagreement::skip) {
      state.SkipWithError(verdict.c_str());
      return;
    }
    if (!verdict.empty()) state.SetLabel("inaccurate: " + verdict);
  }

  const std::size_t slots = ws.slots();
  std::size_t slot = 0;
  for (auto _ : state) {
    run(slot);
    benchmark::ClobberMemory();
    slot = slot + 1 == slots ? 0 : slot + 1;
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(s.size()));
  state.SetBytesProcessed(state.iterations() * tensor_bytes<In, Out>(s));
}

template <class T>
void register_two_byte_copy(group g) {
  const group_info about = info(g);
  for (std::size_t k = 0; k < std::size(kShapes); ++k) {
    const shape rows = kShapes[k];
    const tensor_shape s{rows.rows, rows.cols, 1};
    const tensor_preparer<T, T> prepare = [](tensor_workspace<T, T>& ws) -> call {
      const std::size_t bytes = ws.dims().size() * sizeof(T);
      return
          [&ws, bytes](std::size_t slot) { std::memcpy(static_cast<void*>(ws.output(slot)), ws.input(slot), bytes); };
    };
    // Sorted with the first entry of its shape, so it runs on the same workspace.
    const std::string name = entry_name("copy", about.dtype, "memcpy", rows);
    queue_entry(name, {about.order, k, -1}, [=](benchmark::State& state) {
      run_tensor_entry<T, T>(state, name, s, prepare, on_disagreement::unchecked);
    });
  }
}

}  // namespace

template <class In, class Out>
void register_group(group g, const std::string& contender, const tensor_preparer<In, Out>& prepare,
                    on_disagreement policy) {
  if (!wanted(contender)) return;
  const group_info about = info(g);
  // The middle-axis entries of a shape run just before their axis-last twins,
  // in the same state of the machine; the workspace is rebuilt once between.
  const int op_order = g == group::axis_last ? 1 : 0;
  if (about.rows) {
    for (std::size_t k = 0; k < std::size(kShapes); ++k) {
      const shape rows = kShapes[k];
      const tensor_shape s{rows.rows, rows.cols, 1};
      const std::string name = entry_name(about.op, about.dtype, contender, rows);
      queue_entry(name, {about.order, k, op_order},
                  [=](benchmark::State& state) { run_tensor_entry<In, Out>(state, name, s, prepare, policy); });
    }
    return;
  }
  for (std::size_t k = 0; k < std::size(kAxisShapes); ++k) {
    const tensor_shape named = kAxisShapes[k];
    const tensor_shape s = g == group::axis_last ? tensor_shape{named.outer * named.inner, named.axis, 1} : named;
    const std::string name = tensor_name(about.op, about.dtype, contender, named);
    queue_entry(name, {about.order, k, op_order},
                [=](benchmark::State& state) { run_tensor_entry<In, Out>(state, name, s, prepare, policy); });
  }
}

void register_two_byte_copies() {
  if (!wanted("memcpy")) return;
  register_two_byte_copy<smax::bfloat16>(group::bf16);
  register_two_byte_copy<smax::half>(group::f16);
}

void add_context(const std::string& key, const std::string& value) { benchmark::AddCustomContext(key, value); }

template class workspace<float>;
template class workspace<double>;
template void run_entry<float>(benchmark::State&, const std::string&, op, shape, const preparer<float>&,
                               on_disagreement);
template void run_entry<double>(benchmark::State&, const std::string&, op, shape, const preparer<double>&,
                                on_disagreement);
template void register_entries<float>(const std::string&, std::initializer_list<op>,
                                      const std::function<preparer<float>(op)>&, on_disagreement);
template void register_entries<double>(const std::string&, std::initializer_list<op>,
                                       const std::function<preparer<double>(op)>&, on_disagreement);

template class tensor_workspace<smax::bfloat16, smax::bfloat16>;
template class tensor_workspace<smax::half, smax::half>;
template class tensor_workspace<smax::bfloat16, float>;
template class tensor_workspace<float, float>;
template void register_group<smax::bfloat16, smax::bfloat16>(group, const std::string&,
                                                             const tensor_preparer<smax::bfloat16, smax::bfloat16>&,
                                                             on_disagreement);
template void register_group<smax::half, smax::half>(group, const std::string&,
                                                     const tensor_preparer<smax::half, smax::half>&, on_disagreement);
template void register_group<smax::bfloat16, float>(group, const std::string&,
                                                    const tensor_preparer<smax::bfloat16, float>&, on_disagreement);
template void register_group<float, float>(group, const std::string&, const tensor_preparer<float, float>&,
                                           on_disagreement);

}  // namespace smax_bench
