// libFuzzer target: softmax_backward, log_softmax_backward and
// logsumexp_backward, in every form (vector, contiguous, strided views, in
// place over either input), on every available ISA, against the formulas and
// bounds in smax/softmax.hpp, log_softmax.hpp and logsumexp.hpp evaluated in
// long double.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "common.hpp"

namespace smax_fuzz {
namespace {

enum class op { softmax_backward, log_softmax_backward, logsumexp_backward };
enum class form { vector, contiguous, view };

const char* op_name(op o) {
  switch (o) {
    case op::softmax_backward: return "softmax_backward";
    case op::log_softmax_backward: return "log_softmax_backward";
    case op::logsumexp_backward: return "logsumexp_backward";
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

// a, b: (y, dy) for softmax_backward and log_softmax_backward; for
// logsumexp_backward a is x, and lse and dlse are the per-row vectors (the
// vector form takes them as scalars: `lse_value`, `dlse_value`).
template <class T>
struct backward_case {
  op operation = op::softmax_backward;
  form shape_form = form::view;
  placement layout;
  unsigned mxcsr = 0x1f80;
  smax::softmax_options<T> options;
  bool realistic = true;  // a is a rounded softmax / log_softmax of decoded logits
  buffer a, b, lse, dlse, dx;
  T lse_value = T(0), dlse_value = T(0);
  validity expected = validity::valid;
  memory mem;

  std::string what() const {
    return std::string("smax::") + op_name(operation) + "<" + type_name<T>() + "> (" + form_name(shape_form) + ")";
  }
  void print(std::FILE* out) const {
    std::fprintf(out, "case: %s, %s layout, caller MXCSR 0x%04x, threads %u, algorithm %d, %s inputs, expected %s\n",
                 what().c_str(), layout.shared ? "shared" : "separate", mxcsr, options.threads,
                 static_cast<int>(options.algorithm), realistic ? "realistic" : "raw", validity_name(expected));
    print_buffer<T>(out, mem, a);
    if (operation == op::logsumexp_backward) {
      if (shape_form == form::vector) {
        std::fprintf(out, "  lse = %a, dlse = %a\n", static_cast<double>(lse_value), static_cast<double>(dlse_value));
      } else {
        print_buffer<T>(out, mem, lse);
        print_buffer<T>(out, mem, dlse);
      }
    } else {
      print_buffer<T>(out, mem, b);
    }
    print_buffer<T>(out, mem, dx, false);
  }
};

const void* g_case = nullptr;
template <class T>
void describe_case(std::FILE* out) {
  static_cast<const backward_case<T>*>(g_case)->print(out);
}

// The contracts' argument rules: each view as for softmax, one shape for all,
// dx the very same buffer as an input or disjoint from it; for
// logsumexp_backward, lse and dlse present when rows > 0 and disjoint from dx.
template <class T>
validity judge(const backward_case<T>& k) {
  validity v = validity::valid;
  check_view(k.a, v);
  check_view(k.dx, v);
  if (k.a.rows != k.dx.rows || k.a.cols != k.dx.cols) require_invalid(v);
  check_in_place_or_disjoint(k.dx, k.a, v);
  if (k.operation == op::logsumexp_backward) {
    if (k.shape_form != form::vector) {
      check_view(k.lse, v);
      check_view(k.dlse, v);
      check_disjoint(k.dx, k.lse, v);
      check_disjoint(k.dx, k.dlse, v);
    }
  } else {
    check_view(k.b, v);
    if (k.a.rows != k.b.rows || k.a.cols != k.b.cols) require_invalid(v);
    check_in_place_or_disjoint(k.dx, k.b, v);
  }
  // Zero threads means the calling thread only; an unknown algorithm is an error.
  if (!valid_algorithm(k.options.algorithm)) require_invalid(v);
  return v;
}

// The ulp part and the cancellation part of the backward bounds:
// float 2 ulp + 2^-30 scale, double 4 ulp + 2^-50 scale.
template <class T>
real backward_tol(real exact, real scale) {
  const real cancellation = sizeof(T) == 4 ? 0x1p-30L : 0x1p-50L;
  return ulp_tol<T>(exact, smax_test::ulp_bound<T>()) + cancellation * scale;
}

// A formula's value for a row with NaN or infinite inputs, where the bounds do
// not apply: NaN where the formula gives NaN. Where it gives an infinity the
// contract says values "propagate as the formula implies", which a
// compensated sum (inf - inf in its error term) or an exp that underflows to 0
// (then 0 * inf) need not reproduce: NaN or that infinity, unless
// SMAX_FUZZ_STRICT.
inline expect propagated(real value) {
  if (std::isnan(value)) return expect_nan();
  if (std::isinf(value)) {
    return strict() ? expect_exact(value) : expect{expect::either_nan_or_bound, value, 0, false};
  }
  return expect_any();
}

// exp of a finite argument is positive and finite, however far long double's
// own exp under- or overflows: the formulas' infinities and NaNs come from
// the inputs, not from the precision they are evaluated in.
inline real positive_exp(real d) {
  if (!std::isfinite(d)) return std::exp(d);
  const real e = std::exp(d);
  if (e == 0) return std::numeric_limits<real>::denorm_min();
  if (std::isinf(e)) return std::numeric_limits<real>::max();
  return e;
}

template <class T>
bool finite_row(const std::vector<T>& v) {
  for (T e : v) {
    if (!std::isfinite(e)) return false;
  }
  return true;
}

// The contracts state the bounds for y = softmax(x) (entries in [0, 1]) and
// y = log_softmax(x) (entries <= 0). Outside that domain the formulas still
// hold, but an input above 1 amplifies the rounding of subnormal
// intermediates, and an intermediate (a product, the row sum, exp) may exceed
// the type's range where the result does not: such rows are only checked for
// agreement between ISAs, unless SMAX_FUZZ_STRICT.
template <class T>
bool intermediate_overflows(real magnitude) {
  return !strict() && !(magnitude <= static_cast<real>(std::numeric_limits<T>::max()));
}

// Products and exp results below the smallest normal double keep only an
// absolute precision of 2^-1074: for double data that is `terms` such
// roundings, which the ulp bound (at a larger result) does not cover. The
// contracts are silent on it; strict mode leaves the allowance out.
template <class T>
real underflow_allowance(real terms) {
  if (strict() || sizeof(T) == 4) return 0;
  return (terms + 1) * static_cast<real>(std::numeric_limits<double>::denorm_min());
}

template <class T>
void softmax_backward_row(const std::vector<T>& y, const std::vector<T>& dy, std::vector<expect>& want) {
  const std::size_t n = y.size();
  if (!finite_row(y) || !finite_row(dy)) {
    real s = 0;
    for (std::size_t i = 0; i < n; ++i) s += static_cast<real>(dy[i]) * static_cast<real>(y[i]);
    for (std::size_t i = 0; i < n; ++i) want.push_back(propagated(static_cast<real>(y[i]) * (dy[i] - s)));
    return;
  }
  smax_test::compensated_sum dot, magnitude;
  bool in_domain = true;
  for (std::size_t i = 0; i < n; ++i) {
    const real p = static_cast<real>(dy[i]) * static_cast<real>(y[i]);
    dot.add(p);
    magnitude.add(std::fabs(p));
    in_domain = in_domain && y[i] >= 0 && y[i] <= 1;
  }
  for (std::size_t i = 0; i < n; ++i) {
    const real exact = static_cast<real>(y[i]) * (static_cast<real>(dy[i]) - dot.value());
    const real scale = std::fabs(static_cast<real>(y[i])) * magnitude.value();
    // Intermediates: the products and their sum (<= magnitude), dy_c - sum.
    if (intermediate_overflows<T>(std::fabs(static_cast<real>(dy[i])) + magnitude.value())) {
      want.push_back(expect_unordered());
    } else if (!in_domain && !strict()) {
      want.push_back(expect_any());
    } else {
      want.push_back(expect_bound<T>(exact, backward_tol<T>(exact, scale) + underflow_allowance<T>(n)));
    }
  }
}

template <class T>
void log_softmax_backward_row(const std::vector<T>& y, const std::vector<T>& dy, std::vector<expect>& want) {
  const std::size_t n = y.size();
  if (!finite_row(dy)) {
    real s = 0;
    for (std::size_t i = 0; i < n; ++i) s += static_cast<real>(dy[i]);
    for (std::size_t i = 0; i < n; ++i) {
      want.push_back(propagated(static_cast<real>(dy[i]) - positive_exp(static_cast<real>(y[i])) * s));
    }
    return;
  }
  // The sum involves dy only: a NaN or +inf in y affects its own element.
  smax_test::compensated_sum sum, magnitude;
  bool in_domain = true;
  for (std::size_t i = 0; i < n; ++i) {
    sum.add(dy[i]);
    magnitude.add(std::fabs(static_cast<real>(dy[i])));
    in_domain = in_domain && y[i] <= 0;  // false for NaN and +inf too
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (std::isnan(y[i]) || y[i] == std::numeric_limits<T>::infinity()) {
      want.push_back(propagated(static_cast<real>(dy[i]) - static_cast<real>(y[i]) * sum.value()));
      continue;
    }
    // y may hold -inf (a masked class): exp gives 0 and dx = dy there.
    const real e = std::exp(static_cast<real>(y[i]));
    const real exact = static_cast<real>(dy[i]) - e * sum.value();
    if (intermediate_overflows<T>(std::fmax(e * magnitude.value(), std::fmax(e, magnitude.value())))) {
      want.push_back(expect_unordered());
    } else if (!in_domain && !strict()) {
      want.push_back(expect_any());
    } else {
      // exp(y) below DBL_MIN is a subnormal, scaled by the sum of dy.
      const real allowance = underflow_allowance<T>(std::fabs(sum.value()));
      want.push_back(expect_bound<T>(exact, backward_tol<T>(exact, e * magnitude.value()) + allowance));
    }
  }
}

// dx = dlse * exp(x - lse), with exp overflowing to +inf beyond
// x - lse = log(DBL_MAX) as documented (and NaN for inf - inf).
template <class T>
void logsumexp_backward_row(const std::vector<T>& x, T lse, T dlse, std::vector<expect>& want) {
  const real log_max = std::log(static_cast<real>(std::numeric_limits<double>::max()));
  const real double_tiny = static_cast<real>(std::numeric_limits<double>::denorm_min());
  for (T xv : x) {
    const real d = static_cast<real>(xv) - static_cast<real>(lse);
    if (std::isnan(d)) {
      want.push_back(expect_nan());
      continue;
    }
    if (std::fabs(d - log_max) < 1e-9L) {  // "~709.78": either side of the threshold
      want.push_back(expect_any());
      continue;
    }
    if (!std::isfinite(d) || !std::isfinite(dlse) || d > log_max) {
      const real e = d > log_max ? std::numeric_limits<real>::infinity() : positive_exp(d);
      const real exact = static_cast<real>(dlse) * e;
      if (std::isfinite(exact)) {
        want.push_back(expect_bound<T>(exact, ulp_tol<T>(exact, smax_test::ulp_bound<T>())));
      } else {
        want.push_back(propagated(exact));
      }
      continue;
    }
    const real exact = static_cast<real>(dlse) * std::exp(d);
    real tol = ulp_tol<T>(exact, smax_test::ulp_bound<T>());
    // exp below DBL_MIN has the absolute precision of a double subnormal
    // (the doc's threshold says exp is evaluated in double): scaled by a
    // large dlse that error can exceed the ulp bound. Strict mode checks it.
    if (!strict()) tol += 2 * double_tiny * std::fabs(static_cast<real>(dlse));
    want.push_back(expect_bound<T>(exact, tol));
  }
}

template <class T>
std::vector<expect> expectations(const backward_case<T>& k) {
  std::vector<expect> want;
  const std::size_t rows = k.a.rows, cols = k.a.cols;
  if (cols == 0) return want;  // nothing is written; rows may be huge
  for (std::size_t r = 0; r < rows; ++r) {
    std::vector<T> a(cols), b(cols);
    for (std::size_t c = 0; c < cols; ++c) {
      a[c] = k.mem.template initial<T>(k.a, r, c);
      if (k.operation != op::logsumexp_backward) b[c] = k.mem.template initial<T>(k.b, r, c);
    }
    switch (k.operation) {
      case op::softmax_backward: softmax_backward_row(a, b, want); break;
      case op::log_softmax_backward: log_softmax_backward_row(a, b, want); break;
      case op::logsumexp_backward: {
        const bool scalars = k.shape_form == form::vector;
        const T lse = scalars ? k.lse_value : k.mem.template initial<T>(k.lse, 0, r);
        const T dlse = scalars ? k.dlse_value : k.mem.template initial<T>(k.dlse, 0, r);
        logsumexp_backward_row(a, lse, dlse, want);
        break;
      }
    }
  }
  return want;
}

template <class T>
void call(backward_case<T>& k, unsigned threads) {
  const T* a = k.mem.template pointer<T>(k.a);
  const T* b = k.mem.template pointer<T>(k.b);
  T* dx = k.mem.template pointer<T>(k.dx);
  const std::size_t rows = k.a.rows, cols = k.a.cols;
  smax::softmax_options<T> o = k.options;
  o.threads = threads;
  using cview = smax::matrix_view<const T>;
  const cview av(a, rows, cols, k.a.stride), bv(b, k.b.rows, k.b.cols, k.b.stride);
  const smax::matrix_view<T> dxv(dx, k.dx.rows, k.dx.cols, k.dx.stride);
  switch (k.operation) {
    case op::softmax_backward:
      if (k.shape_form == form::vector) smax::softmax_backward(a, b, dx, cols, o);
      if (k.shape_form == form::contiguous) smax::softmax_backward(a, b, dx, rows, cols, o);
      if (k.shape_form == form::view) smax::softmax_backward<T>(av, bv, dxv, o);
      break;
    case op::log_softmax_backward:
      if (k.shape_form == form::vector) smax::log_softmax_backward(a, b, dx, cols, o);
      if (k.shape_form == form::contiguous) smax::log_softmax_backward(a, b, dx, rows, cols, o);
      if (k.shape_form == form::view) smax::log_softmax_backward<T>(av, bv, dxv, o);
      break;
    case op::logsumexp_backward: {
      const T* lse = k.mem.template pointer<T>(k.lse);
      const T* dlse = k.mem.template pointer<T>(k.dlse);
      if (k.shape_form == form::vector) smax::logsumexp_backward(a, k.lse_value, k.dlse_value, dx, cols, o);
      if (k.shape_form == form::contiguous) smax::logsumexp_backward(a, lse, dlse, dx, rows, cols, o);
      if (k.shape_form == form::view) smax::logsumexp_backward<T>(av, lse, dlse, dxv, o);
      break;
    }
  }
}

// A row of the forward function's outputs (rounded to T) for decoded logits:
// what the backward passes are documented to take.
template <class T>
void realistic_row(reader& in, op o, std::size_t cols, std::vector<T>& row, T& lse) {
  std::vector<T> logits(cols);
  const profile p = decode_profile(in);
  T previous = T(0);
  for (T& v : logits) v = previous = decode_value<T>(in, p, previous);
  const row_kind kind = classify(logits);
  const T nan = std::numeric_limits<T>::quiet_NaN(), inf = std::numeric_limits<T>::infinity();
  row.assign(cols, nan);
  lse = kind == row_kind::has_pos_inf ? inf : kind == row_kind::all_neg_inf ? -inf : nan;
  if (kind != row_kind::regular) {
    if (o == op::logsumexp_backward) row = logits;
    return;
  }
  const smax_test::reference_row ref = smax_test::reference(logits.data(), cols);
  lse = static_cast<T>(ref.logsumexp);
  for (std::size_t c = 0; c < cols; ++c) {
    switch (o) {
      case op::softmax_backward: row[c] = static_cast<T>(ref.prob[c]); break;
      case op::log_softmax_backward: row[c] = static_cast<T>(ref.log_prob[c]); break;
      case op::logsumexp_backward: row[c] = logits[c]; break;
    }
  }
}

template <class T>
int run(reader& in) {
  backward_case<T> k;
  k.operation = static_cast<op>(in.pick(3));
  const unsigned f = in.pick(4);
  k.shape_form = f == 0 ? form::vector : f == 1 ? form::contiguous : form::view;
  k.layout.shared = in.chance(64);
  k.mxcsr = decode_caller_env(in);
  k.options.threads = decode_threads(in);
  k.options.algorithm = decode_algorithm(in);
  k.realistic = in.pick(4) != 0;

  const shape s = decode_shape(in, k.shape_form == form::vector, sizeof(T));
  const bool lse_op = k.operation == op::logsumexp_backward;
  k.a = {lse_op ? "x" : "y", sizeof(T), s.rows, s.cols, s.cols};
  k.b = {"dy", sizeof(T), s.rows, s.cols, s.cols};
  k.dx = {"dx", sizeof(T), s.rows, s.cols, s.cols};
  k.lse = {"lse", sizeof(T), 1, s.rows, s.rows};
  k.dlse = {"dlse", sizeof(T), 1, s.rows, s.rows};
  k.lse.per_row = k.dlse.per_row = true;
  if (lse_op) {
    k.b.passed = false;
  } else {
    k.lse.passed = k.dlse.passed = false;
  }
  if (lse_op && k.shape_form == form::vector) k.lse.passed = k.dlse.passed = false;
  if (k.shape_form == form::view) {
    for (buffer* v : {&k.a, &k.b, &k.dx}) {
      if (v != &k.a && in.pick(32) == 0) {  // mis-shaped
        v->rows = in.pick(2) ? s.rows + 1 : s.rows - (s.rows > 0);
        v->cols = in.pick(2) ? s.cols + 1 : s.cols - (s.cols > 0);
      }
      v->stride = decode_stride(in, v->cols, sizeof(T));
    }
  }

  std::size_t allocations = k.layout.shared ? 1 : 0, cursor = 0;
  std::vector<buffer*> placed;
  for (buffer* v : {&k.a, &k.b, &k.lse, &k.dlse, &k.dx}) {
    if (!v->passed) continue;
    place(in, k.layout, allocations, *v, placed, cursor);
    placed.push_back(v);
  }

  k.expected = judge(k);
  for (const buffer* v : placed) {
    if (k.expected != validity::invalid && v->oversized()) return -1;
  }

  const std::vector<unsigned char> fill = fill_pattern<T>();
  k.mem.build(placed, allocations, fill.data(), fill.size());
  // Inputs, in placement order (a later input aliasing an earlier one
  // overwrites it, and the reference reads what is in memory at the end).
  if (k.a.live()) {
    for (std::size_t r = 0; r < k.a.rows; ++r) {
      std::vector<T> row;
      T lse = T(0);
      if (k.realistic) {
        realistic_row(in, k.operation, k.a.cols, row, lse);
      } else {
        const profile p = decode_profile(in);
        T previous = T(0);
        for (std::size_t c = 0; c < k.a.cols; ++c) row.push_back(previous = decode_value<T>(in, p, previous));
        lse = decode_value<T>(in, p, previous);
      }
      for (std::size_t c = 0; c < k.a.cols; ++c) k.mem.store(k.a, r, c, row[c]);
      if (k.lse.live() && r < k.lse.cols) k.mem.store(k.lse, 0, r, lse);
      if (k.shape_form == form::vector && lse_op) k.lse_value = lse;
    }
  } else if (k.lse.live()) {
    for (std::size_t r = 0; r < k.lse.cols; ++r) k.mem.store(k.lse, 0, r, decode_value<T>(in, profile::any, T(0)));
  }
  if (k.b.live()) {
    for (std::size_t r = 0; r < k.b.rows; ++r) {
      const profile p = decode_profile(in);
      T previous = T(0);
      for (std::size_t c = 0; c < k.b.cols; ++c) k.mem.store(k.b, r, c, previous = decode_value<T>(in, p, previous));
    }
  }
  if (lse_op) {
    const profile p = decode_profile(in);
    if (k.dlse.live()) {
      for (std::size_t r = 0; r < k.dlse.cols; ++r) k.mem.store(k.dlse, 0, r, decode_value<T>(in, p, T(1)));
    }
    if (k.shape_form == form::vector) {
      k.dlse_value = decode_value<T>(in, p, T(1));
      if (!k.realistic && in.pick(2)) k.lse_value = decode_value<T>(in, profile::any, T(0));
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

  std::vector<checked_output<T>> outputs;
  if (k.dx.live()) outputs.push_back({&k.dx, want});
  run_on_every_isa<T>(
      k.what(), k.expected, k.mxcsr, k.mem, {&k.dx}, k.options.threads, [&](unsigned threads) { call(k, threads); },
      [&] {
        std::vector<std::vector<T>> values;
        if (k.dx.live()) values.push_back(read_cells<T>(k.mem, k.dx));
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
