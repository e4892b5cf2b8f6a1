// libFuzzer target: softmax, log_softmax and logsumexp (forward), in every
// form (vector, contiguous rows x cols, strided views, in place), on every
// available ISA, against the contracts in smax/softmax.hpp, log_softmax.hpp
// and logsumexp.hpp and the long double reference.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "common.hpp"

namespace smax_fuzz {
namespace {

enum class op { softmax, log_softmax, logsumexp };
enum class form { vector, contiguous, view };

const char* op_name(op o) {
  switch (o) {
    case op::softmax: return "softmax";
    case op::log_softmax: return "log_softmax";
    case op::logsumexp: return "logsumexp";
  }
  return "?";
}
const char* form_name(form f) {
  switch (f) {
    case form::vector: return "vector";
    case form::contiguous: return "contiguous";
    case form::view: return "view";
  }
  return "?";
}

template <class T>
struct forward_case {
  op operation = op::softmax;
  form shape_form = form::view;
  placement layout;
  unsigned mxcsr = 0x1f80;
  smax::softmax_options<T> options;
  buffer x, y;  // y: the output matrix, or logsumexp's out vector
  validity expected = validity::valid;
  memory mem;
  T returned = T(0);  // the vector form of logsumexp returns its result

  std::string what() const {
    return std::string("smax::") + op_name(operation) + "<" + type_name<T>() + "> (" + form_name(shape_form) + ")";
  }
  void print(std::FILE* out) const {
    std::fprintf(out, "case: %s, %s layout, caller MXCSR 0x%04x, threads %u, algorithm %d, expected %s\n",
                 what().c_str(), layout.shared ? "shared" : "separate", mxcsr, options.threads,
                 static_cast<int>(options.algorithm), validity_name(expected));
    print_buffer<T>(out, mem, x);
    print_buffer<T>(out, mem, y, false);
  }
};

const void* g_case = nullptr;  // the case being run, for the describer
template <class T>
void describe_case(std::FILE* out) {
  static_cast<const forward_case<T>*>(g_case)->print(out);
}

// The contract's argument rules (softmax.hpp "Errors", logsumexp.hpp "Errors").
template <class T>
validity judge(const forward_case<T>& k) {
  validity v = validity::valid;
  check_view(k.x, v);
  check_view(k.y, v);
  if (k.operation == op::logsumexp) {
    if (k.shape_form != form::vector) check_disjoint(k.y, k.x, v);  // out must not overlap x
  } else {
    if (k.x.rows != k.y.rows || k.x.cols != k.y.cols) require_invalid(v);
    check_in_place_or_disjoint(k.y, k.x, v);
  }
  // Zero threads means the calling thread only; an unknown algorithm is an error.
  if (!valid_algorithm(k.options.algorithm)) require_invalid(v);
  return v;
}

// What each output element must be, from the inputs alone.
template <class T>
std::vector<expect> expectations(const forward_case<T>& k) {
  const double bound = smax_test::ulp_bound<T>();
  const T inf = std::numeric_limits<T>::infinity();
  std::vector<expect> want;
  const std::size_t rows = k.x.rows, cols = k.x.cols;
  // Empty rows write nothing (softmax, log_softmax); rows may then be huge.
  if (k.operation != op::logsumexp && cols == 0) return want;
  for (std::size_t r = 0; r < rows; ++r) {
    std::vector<T> row(cols);
    for (std::size_t c = 0; c < cols; ++c) row[c] = k.mem.template initial<T>(k.x, r, c);
    const row_kind kind = classify(row);
    if (k.operation == op::logsumexp) {
      switch (kind) {
        case row_kind::empty: want.push_back(expect_exact(-static_cast<real>(inf))); break;
        case row_kind::has_nan: want.push_back(expect_nan()); break;
        case row_kind::has_pos_inf: want.push_back(expect_exact(static_cast<real>(inf))); break;
        case row_kind::all_neg_inf: want.push_back(expect_exact(-static_cast<real>(inf))); break;
        case row_kind::regular: {
          const real lse = smax_test::reference(row.data(), cols).logsumexp;
          want.push_back(expect_bound<T>(lse, log_tol<T>(lse, bound)));
          break;
        }
      }
      continue;
    }
    if (kind != row_kind::regular) {
      // NaN, +inf or all -inf: every output of the row NaN (cols == 0 writes nothing).
      for (std::size_t c = 0; c < cols; ++c) want.push_back(expect_nan());
      continue;
    }
    const smax_test::reference_row ref = smax_test::reference(row.data(), cols);
    for (std::size_t c = 0; c < cols; ++c) {
      if (row[c] == -inf) {
        // -inf gives exactly 0 (softmax) or exactly -inf (log_softmax).
        want.push_back(expect_exact(k.operation == op::softmax ? 0 : -static_cast<real>(inf)));
      } else if (k.operation == op::softmax) {
        want.push_back(expect_bound<T>(ref.prob[c], ulp_tol<T>(ref.prob[c], bound)));
      } else {
        want.push_back(expect_bound<T>(ref.log_prob[c], log_tol<T>(ref.log_prob[c], bound)));
      }
    }
  }
  return want;
}

template <class T>
void call(forward_case<T>& k, unsigned threads) {
  const T* x = k.mem.template pointer<T>(k.x);
  T* y = k.mem.template pointer<T>(k.y);
  const std::size_t rows = k.x.rows, cols = k.x.cols;
  smax::softmax_options<T> o = k.options;
  o.threads = threads;
  const smax::matrix_view<const T> xv(x, rows, cols, k.x.stride);
  const smax::matrix_view<T> yv(y, k.y.rows, k.y.cols, k.y.stride);
  switch (k.operation) {
    case op::softmax:
      if (k.shape_form == form::vector) smax::softmax(x, y, cols, o);
      if (k.shape_form == form::contiguous) smax::softmax(x, y, rows, cols, o);
      if (k.shape_form == form::view) smax::softmax<T>(xv, yv, o);
      break;
    case op::log_softmax:
      if (k.shape_form == form::vector) smax::log_softmax(x, y, cols, o);
      if (k.shape_form == form::contiguous) smax::log_softmax(x, y, rows, cols, o);
      if (k.shape_form == form::view) smax::log_softmax<T>(xv, yv, o);
      break;
    case op::logsumexp:
      if (k.shape_form == form::vector) k.returned = smax::logsumexp(x, cols, o);
      if (k.shape_form == form::contiguous) smax::logsumexp(x, y, rows, cols, o);
      if (k.shape_form == form::view) smax::logsumexp<T>(xv, y, o);
      break;
  }
}

template <class T>
int run(reader& in) {
  forward_case<T> k;
  k.operation = static_cast<op>(in.pick(3));
  const unsigned f = in.pick(4);
  k.shape_form = f == 0 ? form::vector : f == 1 ? form::contiguous : form::view;
  k.layout.shared = in.chance(64);
  k.mxcsr = decode_caller_env(in);
  k.options.threads = decode_threads(in);
  k.options.algorithm = decode_algorithm(in);

  const shape s = decode_shape(in, k.shape_form == form::vector, sizeof(T));
  k.x = {"x", sizeof(T), s.rows, s.cols, s.cols};
  if (k.operation == op::logsumexp) {
    // out: rows values, contiguous; the vector form returns its value instead.
    k.y = {"out", sizeof(T), 1, s.rows, s.rows};
    k.y.per_row = true;
    if (k.shape_form == form::vector) k.y.passed = false;
  } else {
    k.y = {"y", sizeof(T), s.rows, s.cols, s.cols};
  }
  if (k.shape_form == form::view) {
    k.x.stride = decode_stride(in, s.cols, sizeof(T));
    if (k.operation != op::logsumexp) {
      if (in.pick(24) == 0) {  // mis-shaped output
        k.y.rows = in.pick(2) ? s.rows + 1 : s.rows - (s.rows > 0);
        k.y.cols = in.pick(2) ? s.cols + 1 : s.cols - (s.cols > 0);
      }
      k.y.stride = decode_stride(in, k.y.cols, sizeof(T));
    }
  }

  std::size_t allocations = k.layout.shared ? 1 : 0, cursor = 0;
  place(in, k.layout, allocations, k.x, {}, cursor);
  if (k.y.passed) place(in, k.layout, allocations, k.y, {&k.x}, cursor);

  k.expected = judge(k);
  if (k.expected != validity::invalid && (k.x.oversized() || k.y.oversized())) return -1;

  const std::vector<unsigned char> fill = fill_pattern<T>();
  k.mem.build({&k.x, &k.y}, allocations, fill.data(), fill.size());
  if (k.x.live()) {
    for (std::size_t r = 0; r < k.x.rows; ++r) {
      const profile p = decode_profile(in);
      T previous = T(0);
      for (std::size_t c = 0; c < k.x.cols; ++c) k.mem.store(k.x, r, c, previous = decode_value<T>(in, p, previous));
    }
  }
  k.mem.take_snapshot();
  g_case = &k;
  current_describer() = &describe_case<T>;
  if (verbose()) k.print(stderr);

  std::vector<expect> want;
  if (k.expected != validity::invalid) want = expectations(k);
  if (stats_on()) {
    count(std::string(op_name(k.operation)) + " " + form_name(k.shape_form) + " " + validity_name(k.expected));
    for (const expect& e : want) count(std::string("expect ") + kind_name(e));
  }
  // The vector form of logsumexp returns its result: a 1 x 1 stand-in.
  const bool returns = k.operation == op::logsumexp && k.shape_form == form::vector;
  const buffer returned_buffer{"returned", sizeof(T), 1, 1, 1};
  std::vector<checked_output<T>> outputs;
  if (returns) {
    outputs.push_back({&returned_buffer, want});
  } else if (k.y.live()) {
    outputs.push_back({&k.y, want});
  }
  run_on_every_isa<T>(
      k.what(), k.expected, k.mxcsr, k.mem, {&k.y}, k.options.threads,
      [&](unsigned threads) {
        k.returned = std::numeric_limits<T>::quiet_NaN();
        call(k, threads);
      },
      [&] {
        std::vector<std::vector<T>> values;
        if (returns) {
          values.push_back({k.returned});
        } else if (k.y.live()) {
          values.push_back(read_cells<T>(k.mem, k.y));
        }
        return values;
      },
      outputs);
  current_describer() = nullptr;
  return 0;
}

}  // namespace
}  // namespace smax_fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  smax_fuzz::reader in(data, size);
  return in.pick(2) == 0 ? smax_fuzz::run<float>(in) : smax_fuzz::run<double>(in);
}
