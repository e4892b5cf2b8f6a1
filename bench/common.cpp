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
  const std::size_t written = which == op::logsumexp ? s.rows : s.size();
  return static_cast<std::int64_t>((s.size() + written) * element_size);
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
// differs between standard libraries and the inputs must not.
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
  std::uint64_t bits() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  std::uint64_t state_;
  double spare_ = 0.0;
  bool has_spare_ = false;
};

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
  if (which == op::softmax) return single ? 1e-5 : 1e-10;
  return single ? 1e-4 : 1e-9;
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
  // every run; float inputs are the double values rounded.
  normal_source source(0x5eedULL);
  buffer first(allocate<T>(n));
  for (std::size_t i = 0; i < n; ++i) first[i] = static_cast<T>(source.next());
  inputs_.push_back(std::move(first));
  for (std::size_t k = 1; k < slots; ++k) {
    buffer copy(allocate<T>(n));
    std::memcpy(copy.get(), inputs_[0].get(), n * sizeof(T));
    inputs_.push_back(std::move(copy));
  }
  for (std::size_t k = 0; k < slots; ++k) outputs_.emplace_back(allocate<T>(n));
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
const std::vector<T>& workspace<T>::reference(op which) {
  std::vector<T>& result = references_[static_cast<int>(which)];
  if (!result.empty()) return result;
  result.assign(output_size(which), T(0));
  const smax::scoped_isa fastest(smax::available_isas().back());
  const T* x = input(0);
  switch (which) {
    case op::softmax: smax::softmax<T>(x, result.data(), dims_.rows, dims_.cols); break;
    case op::log_softmax: smax::log_softmax<T>(x, result.data(), dims_.rows, dims_.cols); break;
    case op::logsumexp: smax::logsumexp<T>(x, result.data(), dims_.rows, dims_.cols); break;
  }
  return result;
}

template <class T>
std::string workspace<T>::disagreement(op which) {
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
  const T* x = input(0) + row * dims_.cols;
  long double m = -std::numeric_limits<long double>::infinity();
  for (std::size_t c = 0; c < dims_.cols; ++c) m = std::max<long double>(m, x[c]);
  long double sum = 0;
  for (std::size_t c = 0; c < dims_.cols; ++c) sum += std::exp(static_cast<long double>(x[c]) - m);
  const long double exact = which == op::softmax       ? std::exp(x[col] - m) / sum
                            : which == op::log_softmax ? (x[col] - m) - std::log(sum)
                                                       : m + std::log(sum);
  const int digits = std::numeric_limits<T>::max_digits10;
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
    run = prepare(ws);
  } catch (const std::exception& e) {
    state.SkipWithError((std::string("setup failed: ") + e.what()).c_str());
    return;
  }

  if (policy != on_disagreement::unchecked) {
    const std::string& verdict = checked(entry, [&] {
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

}  // namespace smax_bench
