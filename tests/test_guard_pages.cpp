// Every input and every output placed flush against an inaccessible page, so
// that a kernel reading or writing even one element past a buffer's end (or
// before its start) crashes the test instead of going unnoticed. The guard
// cells of support/buffers.hpp catch stray writes only, and only if they change
// the sentinel; a stray read of a few bytes is invisible to them.
//
// Each public operation runs on every ISA under test, for float and double, for
// every tail length 0..67 (all tails of the widest vector, unrolled four times)
// and a few longer rows, with each buffer's end touching a PROT_NONE page and,
// in a second pass, each buffer's start right after one. Results are checked
// for sanity only; test_accuracy.cpp and friends check their values.
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "support/buffers.hpp"
#include "support/catch.hpp"
#include "support/families.hpp"
#include "support/isas.hpp"

namespace smax_test {
namespace {

// Which edge of a buffer touches the inaccessible page.
enum class edge { end, start };

const char* edge_name(edge e) { return e == edge::end ? "end flush against the guard" : "start right after the guard"; }

// `bytes` of read-write memory between two PROT_NONE pages, placed so that the
// chosen edge touches one of them. An empty buffer points at a guard itself, so
// that a kernel touching it at all faults.
class guarded_block {
 public:
  guarded_block(std::size_t bytes, edge e) {
    page_ = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    const std::size_t data_pages = (bytes + page_ - 1) / page_;
    size_ = (data_pages + 2) * page_;
    void* base = mmap(nullptr, size_, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) {
      FAIL("mmap of " << size_ << " bytes failed");
    }
    base_ = static_cast<unsigned char*>(base);
    unsigned char* first = base_ + page_;
    if (data_pages > 0 && mprotect(first, data_pages * page_, PROT_READ | PROT_WRITE) != 0) {
      munmap(base_, size_);
      FAIL("mprotect failed");
    }
    data_ = e == edge::start ? first : first + data_pages * page_ - bytes;
  }
  ~guarded_block() { munmap(base_, size_); }
  guarded_block(const guarded_block&) = delete;
  guarded_block& operator=(const guarded_block&) = delete;

  void* data() const { return data_; }

 private:
  std::size_t page_ = 0, size_ = 0;
  unsigned char* base_ = nullptr;
  unsigned char* data_ = nullptr;
};

template <class T>
class guarded_array {
 public:
  guarded_array(std::size_t count, edge e) : block_(count * sizeof(T), e), count_(count) {
    std::fill(data(), data() + count, sentinel<T>());
  }
  guarded_array(const std::vector<T>& values, edge e) : guarded_array(values.size(), e) {
    std::copy(values.begin(), values.end(), data());
  }

  T* data() const { return static_cast<T*>(block_.data()); }
  std::size_t size() const { return count_; }
  T& operator[](std::size_t i) const { return data()[i]; }

 private:
  guarded_block block_;
  std::size_t count_;
};

// Elements a rows x cols view with this stride spans: the last row ends at the
// end of the allocation, so no padding follows it.
std::size_t extent(std::size_t rows, std::size_t cols, std::size_t stride) {
  return rows == 0 ? 0 : (rows - 1) * stride + cols;
}

template <class T>
std::vector<T> strided_copy(const std::vector<T>& dense, std::size_t rows, std::size_t cols, std::size_t stride) {
  std::vector<T> out(extent(rows, cols, stride), sentinel<T>());
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t c = 0; c < cols; ++c) out[r * stride + c] = dense[r * cols + c];
  }
  return out;
}

// The padding cells of a strided output still hold the sentinel.
template <class T>
bool padding_intact(const guarded_array<T>& a, std::size_t cols, std::size_t stride) {
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (i % stride >= cols && !is_sentinel(a[i])) return false;
  }
  return true;
}

template <class T, class Predicate>
bool all_of(const T* p, std::size_t rows, std::size_t cols, std::size_t stride, Predicate ok) {
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t c = 0; c < cols; ++c) {
      if (!ok(p[r * stride + c])) return false;
    }
  }
  return true;
}

template <class T>
bool finite(const T* p, std::size_t rows, std::size_t cols, std::size_t stride) {
  return all_of(p, rows, cols, stride, [](T v) { return std::isfinite(v); });
}

// Each row a probability distribution: entries in [0, 1] summing to 1 (loosely).
template <class T>
bool probabilities(const T* p, std::size_t rows, std::size_t cols, std::size_t stride) {
  if (!all_of(p, rows, cols, stride, [](T v) { return v >= T(0) && v <= T(1); })) return false;
  for (std::size_t r = 0; r < rows && cols > 0; ++r) {
    double sum = 0;
    for (std::size_t c = 0; c < cols; ++c) sum += static_cast<double>(p[r * stride + c]);
    if (std::fabs(sum - 1) > 1e-3) return false;
  }
  return true;
}

template <class T>
bool log_probabilities(const T* p, std::size_t rows, std::size_t cols, std::size_t stride) {
  return all_of(p, rows, cols, stride, [](T v) { return std::isfinite(v) && v <= T(0); });
}

// Per-row logsumexp values: -inf for empty rows, otherwise finite and at least
// the row's maximum.
template <class T>
bool logsumexps(const T* out, const T* x, std::size_t rows, std::size_t cols, std::size_t stride) {
  for (std::size_t r = 0; r < rows; ++r) {
    if (cols == 0) {
      if (!(std::isinf(out[r]) && out[r] < 0)) return false;
      continue;
    }
    T max = x[r * stride];
    for (std::size_t c = 1; c < cols; ++c) max = std::max(max, x[r * stride + c]);
    if (!std::isfinite(out[r]) || out[r] < max) return false;
  }
  return true;
}

constexpr std::size_t kRows = 3;

// Strides with padding after each row, different for every buffer so that no
// two views line up.
constexpr std::size_t kPadX = 3, kPadY = 1, kPadDy = 2, kPadDx = 5;

template <class T>
void forward_ops(std::size_t n, edge e) {
  const std::vector<T> values = make_row<T>(family::normal_x10, kRows * n, n + 1);
  const std::vector<T> row(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(n));
  using cview = smax::matrix_view<const T>;
  using view = smax::matrix_view<T>;

  {
    INFO("1-D softmax, log_softmax, logsumexp, in place");
    guarded_array<T> x(row, e), y(n, e);
    smax::softmax(x.data(), y.data(), n);
    CHECK(probabilities(y.data(), 1, n, n));
    smax::log_softmax(x.data(), y.data(), n);
    CHECK(log_probabilities(y.data(), 1, n, n));
    const T lse = smax::logsumexp(x.data(), n);
    CHECK(logsumexps(&lse, x.data(), 1, n, n));
    guarded_array<T> z(row, e);
    smax::softmax(z.data(), z.data(), n);
    CHECK(probabilities(z.data(), 1, n, n));
    std::copy(row.begin(), row.end(), z.data());
    smax::log_softmax(z.data(), z.data(), n);
    CHECK(log_probabilities(z.data(), 1, n, n));
  }
  {
    INFO("rows x cols softmax, log_softmax, logsumexp");
    guarded_array<T> x(values, e), y(kRows * n, e), out(kRows, e);
    smax::softmax(x.data(), y.data(), kRows, n);
    CHECK(probabilities(y.data(), kRows, n, n));
    smax::log_softmax(x.data(), y.data(), kRows, n);
    CHECK(log_probabilities(y.data(), kRows, n, n));
    smax::logsumexp(x.data(), out.data(), kRows, n);
    CHECK(logsumexps(out.data(), x.data(), kRows, n, n));
  }
  {
    INFO("strided softmax, log_softmax, logsumexp, in place");
    const std::size_t xs = n + kPadX, ys = n + kPadY;
    guarded_array<T> x(strided_copy(values, kRows, n, xs), e), y(extent(kRows, n, ys), e), out(kRows, e);
    const cview xv(x.data(), kRows, n, xs);
    const view yv(y.data(), kRows, n, ys);
    smax::softmax<T>(xv, yv);
    CHECK(probabilities(y.data(), kRows, n, ys));
    CHECK(padding_intact(y, n, ys));
    smax::log_softmax<T>(xv, yv);
    CHECK(log_probabilities(y.data(), kRows, n, ys));
    CHECK(padding_intact(y, n, ys));
    smax::logsumexp<T>(xv, out.data());
    CHECK(logsumexps(out.data(), x.data(), kRows, n, xs));
    guarded_array<T> z(strided_copy(values, kRows, n, ys), e);
    const view zv(z.data(), kRows, n, ys);
    smax::softmax<T>(zv, zv);
    CHECK(probabilities(z.data(), kRows, n, ys));
    CHECK(padding_intact(z, n, ys));
  }
}

template <class T>
void backward_ops(std::size_t n, edge e) {
  const std::vector<T> values = make_row<T>(family::normal_x1, kRows * n, n + 2);
  const std::vector<T> grads = make_row<T>(family::normal_x1, kRows * n, n + 3);
  using cview = smax::matrix_view<const T>;
  using view = smax::matrix_view<T>;
  std::vector<T> p(values.size()), lp(values.size()), lse(kRows);
  smax::softmax(values.data(), p.data(), kRows, n);
  smax::log_softmax(values.data(), lp.data(), kRows, n);
  smax::logsumexp(values.data(), lse.data(), kRows, n);
  const std::vector<T> dlse = {T(1), T(-0.5), T(2)};

  {
    INFO("rows x cols and 1-D backward passes, in place");
    guarded_array<T> y(p, e), ly(lp, e), x(values, e), dy(grads, e), dx(kRows * n, e);
    guarded_array<T> l(lse, e), dl(dlse, e);
    smax::softmax_backward(y.data(), dy.data(), dx.data(), kRows, n);
    CHECK(finite(dx.data(), kRows, n, n));
    smax::softmax_backward(y.data(), dy.data(), dx.data(), n);
    CHECK(finite(dx.data(), 1, n, n));
    smax::log_softmax_backward(ly.data(), dy.data(), dx.data(), kRows, n);
    CHECK(finite(dx.data(), kRows, n, n));
    smax::log_softmax_backward(ly.data(), dy.data(), dx.data(), n);
    CHECK(finite(dx.data(), 1, n, n));
    smax::logsumexp_backward(x.data(), l.data(), dl.data(), dx.data(), kRows, n);
    CHECK(finite(dx.data(), kRows, n, n));
    smax::logsumexp_backward(x.data(), lse[0], T(1), dx.data(), n);
    CHECK(all_of(dx.data(), 1, n, n, [](T v) { return v >= T(0) && v <= T(1); }));

    // dx over dy, and over y / x.
    smax::softmax_backward(y.data(), dy.data(), dy.data(), kRows, n);
    CHECK(finite(dy.data(), kRows, n, n));
    std::copy(grads.begin(), grads.end(), dy.data());
    smax::log_softmax_backward(ly.data(), dy.data(), ly.data(), kRows, n);
    CHECK(finite(ly.data(), kRows, n, n));
    smax::logsumexp_backward(x.data(), l.data(), dl.data(), x.data(), kRows, n);
    CHECK(finite(x.data(), kRows, n, n));
  }
  {
    INFO("strided backward passes");
    const std::size_t ys = n + kPadY, dys = n + kPadDy, dxs = n + kPadDx, xs = n + kPadX;
    guarded_array<T> y(strided_copy(p, kRows, n, ys), e), ly(strided_copy(lp, kRows, n, ys), e);
    guarded_array<T> x(strided_copy(values, kRows, n, xs), e), dy(strided_copy(grads, kRows, n, dys), e);
    guarded_array<T> dx(extent(kRows, n, dxs), e), l(lse, e), dl(dlse, e);
    const cview dyv(dy.data(), kRows, n, dys);
    const view dxv(dx.data(), kRows, n, dxs);
    smax::softmax_backward<T>(cview(y.data(), kRows, n, ys), dyv, dxv);
    CHECK(finite(dx.data(), kRows, n, dxs));
    CHECK(padding_intact(dx, n, dxs));
    smax::log_softmax_backward<T>(cview(ly.data(), kRows, n, ys), dyv, dxv);
    CHECK(finite(dx.data(), kRows, n, dxs));
    CHECK(padding_intact(dx, n, dxs));
    smax::logsumexp_backward<T>(cview(x.data(), kRows, n, xs), l.data(), dl.data(), dxv);
    CHECK(finite(dx.data(), kRows, n, dxs));
    CHECK(padding_intact(dx, n, dxs));
  }
}

// Class-index targets for `rows` rows of `classes`, the second row ignored.
template <class Index>
std::vector<Index> hard_targets(std::size_t rows, std::size_t classes) {
  std::vector<Index> t(rows);
  for (std::size_t r = 0; r < rows; ++r) t[r] = static_cast<Index>((r * 7 + classes / 2) % classes);
  if (rows > 1) t[1] = Index(-100);
  return t;
}

template <class T>
std::vector<T> soft_targets(std::size_t rows, std::size_t classes) {
  std::vector<T> q(rows * classes);
  for (std::size_t r = 0; r < rows; ++r) {
    double sum = 0;
    for (std::size_t c = 0; c < classes; ++c) sum += static_cast<double>(1 + (3 * c + r) % 5);
    for (std::size_t c = 0; c < classes; ++c) q[r * classes + c] = static_cast<T>((1 + (3 * c + r) % 5) / sum);
  }
  return q;
}

// The loss of a call that had rows to average: finite and >= 0.
template <class T>
bool sane_loss(T loss) {
  return std::isfinite(loss) && loss >= T(0);
}

// One kind of target (int32, int64 or soft) through the forward, fused and
// backward entry points. `Target` holds the targets in guarded memory and
// passes them the way each form wants.
template <class T, class Target>
void cross_entropy_ops(std::size_t classes, edge e, const Target& target) {
  // Empty logits need rows == 0: a row without classes is an error.
  const std::size_t rows = classes == 0 ? 0 : kRows;
  const std::vector<T> values = make_row<T>(family::normal_x1, rows * classes, classes + 4);
  std::vector<T> weights(classes);
  for (std::size_t c = 0; c < classes; ++c) weights[c] = static_cast<T>(0.5 + static_cast<double>(c % 3) / 2);
  const std::vector<T> upstream = {T(1), T(0.5), T(-2)};
  using cview = smax::matrix_view<const T>;
  using view = smax::matrix_view<T>;

  guarded_array<T> logits(values, e), weight(weights, e), losses(rows, e), lse(rows, e), grad(rows * classes, e);
  guarded_array<T> row_upstream(std::vector<T>(upstream.begin(), upstream.begin() + static_cast<std::ptrdiff_t>(rows)),
                                e);
  const cview lv(logits.data(), rows, classes);
  const view gv(grad.data(), rows, classes);
  // Without rows a sum is 0 and a mean is 0 / 0.
  auto is_sane = [rows](T loss) { return rows == 0 ? loss == T(0) : sane_loss(loss); };
  auto is_sane_mean = [rows](T loss) { return rows == 0 ? std::isnan(loss) : sane_loss(loss); };

  smax::cross_entropy_options<T> full;
  full.reduction = smax::reduction::sum;
  full.weight = weight.data();
  full.label_smoothing = 0.1;
  full.z_loss = 1e-3;
  full.losses = losses.data();
  full.logsumexp = lse.data();
  smax::cross_entropy_options<T> none;
  none.reduction = smax::reduction::none;
  none.losses = losses.data();
  none.row_upstream = row_upstream.data();

  {
    INFO("cross_entropy with weights, smoothing, z-loss, per-row losses and logsumexp");
    CHECK(is_sane(target.forward(lv, full)));
    CHECK(finite(losses.data(), 1, rows, rows));
    CHECK(logsumexps(lse.data(), logits.data(), rows, classes, classes));
    CHECK(is_sane_mean(target.forward(lv, {})));  // mean, no options
  }
  {
    INFO("cross_entropy_with_grad, reduction sum and reduction none with row_upstream");
    CHECK(is_sane(target.with_grad(lv, gv, full)));
    CHECK(finite(grad.data(), rows, classes, classes));
    CHECK(finite(losses.data(), 1, rows, rows));
    CHECK(is_sane(target.with_grad(lv, gv, none)));
    CHECK(finite(grad.data(), rows, classes, classes));
  }
  {
    INFO("cross_entropy_backward from the forward's logsumexp");
    smax::cross_entropy_options<T> backward = full;
    backward.losses = nullptr;
    backward.logsumexp = nullptr;
    target.backward(lv, lse.data(), gv, backward);
    CHECK(finite(grad.data(), rows, classes, classes));
    target.backward(lv, lse.data(), gv, none);
    CHECK(finite(grad.data(), rows, classes, classes));
  }
  {
    INFO("cross_entropy_with_grad in place over the logits");
    guarded_array<T> z(values, e);
    const view zv(z.data(), rows, classes);
    CHECK(is_sane(target.with_grad(zv, zv, full)));
    CHECK(finite(z.data(), rows, classes, classes));
  }
  {
    INFO("strided cross_entropy_with_grad and cross_entropy_backward");
    const std::size_t ls = classes + kPadX, gs = classes + kPadDx;
    guarded_array<T> sl(strided_copy(values, rows, classes, ls), e), sg(extent(rows, classes, gs), e);
    const cview slv(sl.data(), rows, classes, ls);
    const view sgv(sg.data(), rows, classes, gs);
    CHECK(is_sane(target.with_grad(slv, sgv, full)));
    CHECK(finite(sg.data(), rows, classes, gs));
    CHECK(padding_intact(sg, classes, gs));
    target.backward(slv, lse.data(), sgv, none);
    CHECK(finite(sg.data(), rows, classes, gs));
    CHECK(padding_intact(sg, classes, gs));
  }
}

template <class T, class Index>
struct hard {
  guarded_array<Index> targets;
  hard(std::size_t rows, std::size_t classes, edge e) : targets(hard_targets<Index>(rows, classes), e) {}
  T forward(smax::matrix_view<const T> l, const smax::cross_entropy_options<T>& o) const {
    return smax::cross_entropy(l, targets.data(), o);
  }
  T with_grad(smax::matrix_view<const T> l, smax::matrix_view<T> g, const smax::cross_entropy_options<T>& o) const {
    return smax::cross_entropy_with_grad(l, targets.data(), g, o);
  }
  void backward(smax::matrix_view<const T> l, const T* lse, smax::matrix_view<T> g,
                const smax::cross_entropy_options<T>& o) const {
    smax::cross_entropy_backward(l, targets.data(), lse, g, o);
  }
};

// Soft targets in a strided matrix of their own, padded unlike the logits.
template <class T>
struct soft {
  std::size_t rows, classes, stride;
  guarded_array<T> q;
  soft(std::size_t r, std::size_t c, edge e)
      : rows(r), classes(c), stride(c + kPadDy), q(strided_copy(soft_targets<T>(r, c), r, c, c + kPadDy), e) {}
  smax::matrix_view<const T> view() const { return {q.data(), rows, classes, stride}; }
  T forward(smax::matrix_view<const T> l, const smax::cross_entropy_options<T>& o) const {
    return smax::cross_entropy(l, view(), o);
  }
  T with_grad(smax::matrix_view<const T> l, smax::matrix_view<T> g, const smax::cross_entropy_options<T>& o) const {
    return smax::cross_entropy_with_grad(l, view(), g, o);
  }
  void backward(smax::matrix_view<const T> l, const T* lse, smax::matrix_view<T> g,
                const smax::cross_entropy_options<T>& o) const {
    smax::cross_entropy_backward(l, view(), lse, g, o);
  }
};

// The pointer forms of the hard-target entry points take contiguous buffers:
// run them once more on their own.
template <class T>
void cross_entropy_pointer_forms(std::size_t classes, edge e) {
  const std::size_t rows = classes == 0 ? 0 : kRows;
  guarded_array<T> logits(make_row<T>(family::normal_x1, rows * classes, classes + 5), e), grad(rows * classes, e);
  guarded_array<T> lse(rows, e);
  guarded_array<std::int64_t> target(hard_targets<std::int64_t>(rows, classes), e);
  smax::cross_entropy_options<T> options;
  options.reduction = smax::reduction::sum;
  options.logsumexp = lse.data();
  const T loss = smax::cross_entropy(logits.data(), target.data(), rows, classes, options);
  CHECK((rows == 0 ? loss == T(0) : sane_loss(loss)));
  CHECK((rows == 0 ||
         sane_loss(smax::cross_entropy_with_grad(logits.data(), target.data(), grad.data(), rows, classes))));
  CHECK(finite(grad.data(), rows, classes, classes));
  smax::cross_entropy_backward(logits.data(), target.data(), lse.data(), grad.data(), rows, classes);
  CHECK(finite(grad.data(), rows, classes, classes));
}

std::vector<std::size_t> guard_lengths() {
  std::vector<std::size_t> lengths;
  for (std::size_t n = 0; n <= 4 * 16 + 3; ++n) lengths.push_back(n);
  for (std::size_t n : {100, 1000, 4099}) lengths.push_back(n);
  return lengths;
}

TEMPLATE_TEST_CASE("no operation touches memory outside its buffers (guard pages)", "[guard]", float, double) {
  using T = TestType;
  for (smax::isa which : isas_under_test()) {
    smax::scoped_isa use(which);
    for (edge e : {edge::end, edge::start}) {
      for (std::size_t n : guard_lengths()) {
        INFO("isa " << smax::isa_name(which) << ", " << (sizeof(T) == 4 ? "float" : "double") << ", n = " << n
                    << ", each buffer's " << edge_name(e));
        forward_ops<T>(n, e);
        backward_ops<T>(n, e);
        const std::size_t rows = n == 0 ? 0 : kRows;
        {
          INFO("int32 targets");
          cross_entropy_ops<T>(n, e, hard<T, std::int32_t>(rows, n, e));
        }
        {
          INFO("int64 targets");
          cross_entropy_ops<T>(n, e, hard<T, std::int64_t>(rows, n, e));
        }
        {
          INFO("soft targets");
          cross_entropy_ops<T>(n, e, soft<T>(rows, n, e));
        }
        {
          INFO("pointer forms");
          cross_entropy_pointer_forms<T>(n, e);
        }
      }
    }
  }
}

// Two-byte data go through conversion kernels with tails of their own (8, 16
// or 32 elements per vector): every op, input and output (two-byte or float)
// flush against a guard, rows x n with no padding between rows.
TEMPLATE_TEST_CASE("two-byte operations stay inside their buffers (guard pages)", "[guard][dtypes]", smax::bfloat16,
                   smax::half) {
  using T = TestType;
  for (smax::isa which : isas_under_test()) {
    smax::scoped_isa use(which);
    for (edge e : {edge::end, edge::start}) {
      for (std::size_t n : guard_lengths()) {
        INFO("isa " << smax::isa_name(which) << ", " << type_name<T>() << ", n = " << n << ", each buffer's "
                    << edge_name(e));
        const std::size_t rows = n == 0 ? 0 : 3;
        std::vector<T> values(rows * n);
        for (std::size_t i = 0; i < values.size(); ++i) values[i] = T(static_cast<float>(i % 13) * 0.25f - 1.5f);
        const guarded_array<T> x(values, e), dy(values, e);
        guarded_array<T> y(rows * n, e), dx(rows * n, e), lse(rows, e);
        guarded_array<float> yf(rows * n, e), lsef(rows, e);
        smax::softmax(x.data(), y.data(), rows, n);
        smax::log_softmax(x.data(), y.data(), rows, n);
        smax::softmax(x.data(), yf.data(), rows, n);
        CHECK(probabilities(yf.data(), rows, n, n));
        smax::log_softmax(x.data(), yf.data(), rows, n);
        smax::logsumexp(x.data(), lse.data(), rows, n);
        smax::logsumexp(x.data(), lsef.data(), rows, n);
        smax::softmax_backward(x.data(), dy.data(), dx.data(), rows, n);
        smax::log_softmax_backward(x.data(), dy.data(), dx.data(), rows, n);
        smax::logsumexp_backward(x.data(), lse.data(), lse.data(), dx.data(), rows, n);
        CHECK(std::all_of(lsef.data(), lsef.data() + rows, [](float v) { return std::isfinite(v); }));
      }
    }
  }
}

// The guard really is there: a read one element past a buffer kills a child
// process with SIGSEGV. Without this, a broken guard would pass everything.
TEST_CASE("the guard pages fault", "[guard]") {
  for (edge e : {edge::end, edge::start}) {
    guarded_array<float> a(5, e);
    const float* past = e == edge::end ? a.data() + 5 : a.data() - 1;
    const pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      // Catch2 and the sanitizers install SIGSEGV handlers; the default action
      // is what is being checked.
      std::signal(SIGSEGV, SIG_DFL);
      const volatile float* p = past;
      const float v = *p;
      _exit(v == v ? 0 : 1);
    }
    int status = 0;
    REQUIRE(waitpid(child, &status, 0) == child);
    INFO(edge_name(e));
    CHECK(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGSEGV);
  }
}

}  // namespace
}  // namespace smax_test
