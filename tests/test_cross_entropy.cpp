// Cross-entropy: loss values and gradients for every combination of options,
// target kinds and class counts, on every ISA, against the long double
// reference; the reference's gradient against central differences; worked
// examples; the fused, separate and in-place forms; and every argument error.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "support/buffers.hpp"
#include "support/catch.hpp"
#include "support/cross_entropy_reference.hpp"
#include "support/families.hpp"
#include "support/isas.hpp"
#include "support/ulp.hpp"

namespace smax_test {
namespace {

// The documented gradient bound (smax/cross_entropy.hpp), m = the row's scale.
template <class T>
bool gradient_within_bound(T got, real exact, real m) {
  if (std::isnan(got) || std::isnan(exact)) return std::isnan(got) && std::isnan(exact);
  const real err = std::fabs(static_cast<real>(got) - exact);
  if constexpr (sizeof(T) == sizeof(float)) {
    if (std::fabs(exact) >= 0x1p-20L * m) return err <= 4 * ulp_at<float>(exact);
    return err <= 4 * 0x1p-43L * m;
  } else {
    return err <= 4 * ulp_at<double>(exact) + 0x1p-50L * m;
  }
}

template <class T>
bool loss_within_bound(T got, real exact) {
  if (std::isnan(got) || std::isnan(exact)) return std::isnan(got) && std::isnan(exact);
  return ulp_error<T>(got, exact) <= ulp_bound<T>();
}

enum class ignore_pattern { none, some, all };
enum class target_kind { int32, int64, soft };

struct combination {
  smax::reduction reduce;
  bool weighted;
  ignore_pattern ignore;
  double smoothing;
  target_kind kind;
  double z_loss;

  std::string describe() const {
    std::ostringstream out;
    const char* reductions[] = {"none", "sum", "mean"};
    const char* ignores[] = {"none ignored", "some ignored", "all ignored"};
    const char* kinds[] = {"int32 targets", "int64 targets", "soft targets"};
    out << "reduction " << reductions[static_cast<int>(reduce)] << ", " << (weighted ? "weighted" : "unweighted")
        << ", " << ignores[static_cast<int>(ignore)] << ", label_smoothing " << smoothing << ", "
        << kinds[static_cast<int>(kind)] << ", z_loss " << z_loss;
    return out.str();
  }
};

std::vector<combination> all_combinations() {
  std::vector<combination> list;
  for (smax::reduction reduce : {smax::reduction::none, smax::reduction::sum, smax::reduction::mean}) {
    for (bool weighted : {false, true}) {
      for (ignore_pattern ignore : {ignore_pattern::none, ignore_pattern::some, ignore_pattern::all}) {
        for (double smoothing : {0.0, 0.1}) {
          for (target_kind kind : {target_kind::int32, target_kind::int64, target_kind::soft}) {
            // ignore_index does not apply to soft targets: one pattern covers them.
            if (kind == target_kind::soft && ignore != ignore_pattern::none) continue;
            for (double z : {0.0, 1e-2}) list.push_back({reduce, weighted, ignore, smoothing, kind, z});
          }
        }
      }
    }
  }
  return list;
}

// Logits (standard normal times 3), one row with a dominant target (p_t ~ 1,
// where p - 1 cancels), targets, soft targets and weights for a class count.
template <class T>
struct ce_data {
  std::size_t rows, classes;
  std::vector<T> logits, soft, weight, row_upstream;
  std::vector<std::int64_t> targets;
};

template <class T>
ce_data<T> make_data(std::size_t rows, std::size_t classes, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  ce_data<T> d{rows, classes, {}, {}, {}, {}, {}};
  d.logits.resize(rows * classes);
  for (T& v : d.logits) v = static_cast<T>(3 * normal(rng));
  d.targets.resize(rows);
  for (std::size_t r = 0; r < rows; ++r) d.targets[r] = static_cast<std::int64_t>(rng() % classes);
  d.logits[static_cast<std::size_t>(d.targets[0])] = static_cast<T>(40);  // row 0: p_t = 1 - O(C e^-40)
  d.soft.resize(rows * classes);
  for (std::size_t r = 0; r < rows; ++r) {
    double total = 0;
    for (std::size_t c = 0; c < classes; ++c)
      total += (d.soft[r * classes + c] = static_cast<T>(std::pow(unit(rng), 3)));
    for (std::size_t c = 0; c < classes; ++c) d.soft[r * classes + c] = static_cast<T>(d.soft[r * classes + c] / total);
  }
  // Row 0's soft target sits on its argmax too.
  for (std::size_t c = 0; c < classes; ++c) d.soft[c] = 0;
  d.soft[static_cast<std::size_t>(d.targets[0])] = 1;
  d.weight.resize(classes);
  for (T& w : d.weight) w = static_cast<T>(0.25 + 3.75 * unit(rng));
  d.row_upstream.resize(rows);
  for (T& u : d.row_upstream) u = static_cast<T>(0.5 + unit(rng));
  return d;
}

template <class T>
ce_problem<T> make_problem(const ce_data<T>& d, const combination& c) {
  ce_problem<T> p;
  p.rows = d.rows;
  p.classes = d.classes;
  p.logits = d.logits;
  if (c.kind == target_kind::soft) {
    p.soft = d.soft;
  } else {
    p.targets = d.targets;
    for (std::size_t r = 0; r < d.rows; ++r) {
      if (c.ignore == ignore_pattern::all || (c.ignore == ignore_pattern::some && r % 3 == 2)) {
        p.targets[r] = p.ignore_index;
      }
    }
  }
  if (c.weighted) p.weight = d.weight;
  p.smoothing = c.smoothing;
  p.z_loss = c.z_loss;
  p.reduce = c.reduce;
  if (c.reduce == smax::reduction::none) {
    p.row_upstream = d.row_upstream;
  } else {
    p.upstream = static_cast<T>(0.75);
  }
  return p;
}

template <class T>
smax::cross_entropy_options<T> options_for(const ce_problem<T>& p) {
  smax::cross_entropy_options<T> o;
  o.reduction = p.reduce;
  o.weight = p.weight.empty() ? nullptr : p.weight.data();
  o.ignore_index = p.ignore_index;
  o.label_smoothing = p.smoothing;
  o.z_loss = p.z_loss;
  o.upstream = p.upstream;
  o.row_upstream = p.row_upstream.empty() ? nullptr : p.row_upstream.data();
  return o;
}

// The three entry points for one target representation.
template <class T, class Index>
struct ce_calls {
  const ce_problem<T>& p;
  std::vector<Index> hard;

  explicit ce_calls(const ce_problem<T>& problem) : p(problem) {
    for (std::int64_t t : p.targets) hard.push_back(static_cast<Index>(t));
  }
  smax::matrix_view<const T> logits() const { return {p.logits.data(), p.rows, p.classes}; }
  smax::matrix_view<const T> soft() const { return {p.soft.data(), p.rows, p.classes}; }

  T forward(const smax::cross_entropy_options<T>& o) const {
    return p.hard() ? smax::cross_entropy(logits(), hard.data(), o) : smax::cross_entropy(logits(), soft(), o);
  }
  T with_grad(smax::matrix_view<const T> x, smax::matrix_view<T> g, const smax::cross_entropy_options<T>& o) const {
    return p.hard() ? smax::cross_entropy_with_grad(x, hard.data(), g, o)
                    : smax::cross_entropy_with_grad(x, soft(), g, o);
  }
  void backward(const T* lse, smax::matrix_view<T> g, const smax::cross_entropy_options<T>& o) const {
    if (p.hard()) {
      smax::cross_entropy_backward(logits(), hard.data(), lse, g, o);
    } else {
      smax::cross_entropy_backward(logits(), soft(), lse, g, o);
    }
  }
};

template <class T>
struct worst_seen {
  double loss = 0, grad = 0;
};

template <class T, class Index>
void check_problem(const ce_problem<T>& p, const ce_expected<T>& e, const std::string& context) {
  const ce_calls<T, Index> calls(p);
  const std::size_t n = p.rows * p.classes;
  for (smax::isa which : isas_under_test()) {
    smax::scoped_isa use(which);
    INFO(context << ", isa " << smax::isa_name(which));

    // Forward, with per-row losses and logsumexp.
    smax::cross_entropy_options<T> o = options_for(p);
    guarded_matrix<T> losses(1, p.rows, p.rows), lse(1, p.rows, p.rows);
    o.losses = losses.data();
    o.logsumexp = lse.data();
    const T loss = calls.forward(o);
    CHECK(losses.guards_intact());
    CHECK(lse.guards_intact());
    INFO("loss " << loss << ", exact " << static_cast<double>(e.loss));
    CHECK(loss_within_bound(loss, e.loss));
    if (!std::isnan(e.loss)) {
      error_record::instance().note("ce loss", type_name<T>(), which, "all",
                                    static_cast<double>(ulp_error<T>(loss, e.loss)));
    }
    for (std::size_t r = 0; r < p.rows; ++r) {
      INFO("row " << r << ": loss " << losses.at(0, r) << " exact " << static_cast<double>(e.row_loss[r]) << ", lse "
                  << lse.at(0, r) << " exact " << static_cast<double>(e.row_lse[r]));
      CHECK(loss_within_bound(losses.at(0, r), e.row_loss[r]));
      CHECK(log_domain_error<T>(lse.at(0, r), e.row_lse[r]) <= ulp_bound<T>());
    }

    // Fused loss and gradient.
    guarded_matrix<T> grad(p.rows, p.classes, p.classes);
    const T fused_loss = calls.with_grad(calls.logits(), grad.view(), o);
    CHECK(grad.guards_intact());
    CHECK(loss_within_bound(fused_loss, e.loss));
    std::size_t bad = 0, first_bad = 0;
    double worst = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const real m = e.magnitude[i / p.classes];
      if (!gradient_within_bound(grad.at(i / p.classes, i % p.classes), e.grad[i], m)) {
        if (bad++ == 0) first_bad = i;
      }
      const real err = std::fabs(static_cast<real>(grad.at(i / p.classes, i % p.classes)) - e.grad[i]);
      if (m > 0) worst = std::fmax(worst, static_cast<double>(err / (m * std::numeric_limits<T>::epsilon())));
    }
    error_record::instance().note("ce grad (eps*m)", type_name<T>(), which, "all", worst);
    INFO("fused gradient: " << bad << " entries outside the bound; first at " << first_bad << ": "
                            << grad.at(first_bad / p.classes, first_bad % p.classes) << " vs exact "
                            << static_cast<double>(e.grad[first_bad])
                            << " (m = " << static_cast<double>(e.magnitude[first_bad / p.classes]) << ")");
    CHECK(bad == 0);

    // Separate backward from the forward's logsumexp: within the bound of the
    // reference, and so of the fused gradient.
    guarded_matrix<T> grad2(p.rows, p.classes, p.classes);
    calls.backward(lse.data(), grad2.view(), o);
    CHECK(grad2.guards_intact());
    bad = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const real m = e.magnitude[i / p.classes];
      const T separate = grad2.at(i / p.classes, i % p.classes), fused = grad.at(i / p.classes, i % p.classes);
      if (!gradient_within_bound(separate, e.grad[i], m) ||
          !gradient_within_bound(separate, static_cast<real>(fused), m)) {
        if (bad++ == 0) first_bad = i;
      }
    }
    INFO("separate gradient: " << bad << " entries outside the bound; first at " << first_bad << ": "
                               << grad2.at(first_bad / p.classes, first_bad % p.classes) << " vs exact "
                               << static_cast<double>(e.grad[first_bad]));
    CHECK(bad == 0);

    // In place over the logits: the same bits as out of place.
    std::vector<T> inplace = p.logits;
    smax::matrix_view<T> io(inplace.data(), p.rows, p.classes);
    o.losses = nullptr;
    o.logsumexp = nullptr;
    if (p.reduce == smax::reduction::none) o.losses = losses.data();
    const T inplace_loss = calls.with_grad(io, io, o);
    CHECK(same_bytes(&inplace_loss, &fused_loss, sizeof(T)));
    bool same = true;
    for (std::size_t i = 0; i < n; ++i) {
      const T a = inplace[i], b = grad.at(i / p.classes, i % p.classes);
      same = same && same_bytes(&a, &b, sizeof(T));
    }
    CHECK(same);
  }
}

template <class T>
void check_class_count(std::size_t classes) {
  const std::size_t rows = classes <= 17 ? 24 : classes <= 1000 ? 6 : classes <= 32000 ? 2 : 1;
  const ce_data<T> data = make_data<T>(rows, classes, classes * 7 + sizeof(T));
  const std::vector<reference_row> refs = reference_rows(data.logits, rows, classes);
  for (const combination& c : all_combinations()) {
    const ce_problem<T> p = make_problem(data, c);
    const ce_expected<T> e = ce_reference(p, refs);
    std::ostringstream context;
    context << type_name<T>() << ", " << rows << " x " << classes << ", " << c.describe();
    if (c.kind == target_kind::int32) {
      check_problem<T, std::int32_t>(p, e, context.str());
    } else {
      check_problem<T, std::int64_t>(p, e, context.str());
    }
  }
}

TEMPLATE_TEST_CASE("cross-entropy loss and gradient match the reference for every option combination",
                   "[cross_entropy]", float, double) {
  for (std::size_t classes : {1, 2, 3, 17, 1000, 32000, 128256}) {
    if (quick_run() && classes > 1000) break;
    DYNAMIC_SECTION(classes << " classes") { check_class_count<TestType>(classes); }
  }
}

// The reference's closed-form gradient against central differences of the
// reference loss (in long double): this checks the meaning, independently of
// the kernels. The kernels' gradients are then checked against it above, and
// here directly against the differences too, with a tolerance for h.
TEMPLATE_TEST_CASE("cross-entropy gradients agree with central differences of the loss", "[cross_entropy]", float,
                   double) {
  for (std::size_t classes : {1, 2, 3, 17}) {
    const ce_data<TestType> data = make_data<TestType>(4, classes, 99 + classes);
    const std::vector<reference_row> refs = reference_rows(data.logits, 4, classes);
    for (const combination& c : all_combinations()) {
      const ce_problem<TestType> p = make_problem(data, c);
      const ce_expected<TestType> e = ce_reference(p, refs);
      std::vector<real> x(p.logits.begin(), p.logits.end());
      const ce_calls<TestType, std::int64_t> calls(p);
      std::vector<TestType> g(p.rows * classes);
      const smax::cross_entropy_options<TestType> o = options_for(p);
      std::vector<TestType> row_losses(p.rows);
      smax::cross_entropy_options<TestType> o2 = o;
      o2.losses = row_losses.data();
      (void)calls.with_grad(calls.logits(), {g.data(), p.rows, classes}, o2);
      if (std::isnan(ce_objective(p, x))) {  // a mean over no rows: NaN, and a zero gradient
        for (TestType v : g) CHECK(v == 0);
        continue;
      }
      for (std::size_t i = 0; i < x.size(); ++i) {
        const real h = 1e-5L;
        std::vector<real> up = x, down = x;
        up[i] += h;
        down[i] -= h;
        const real fd = (ce_objective(p, up) - ce_objective(p, down)) / (2 * h);
        const real m = std::fmax(e.magnitude[i / classes], 1e-30L);
        INFO(c.describe() << ", " << classes << " classes, logit " << i << ": closed form "
                          << static_cast<double>(e.grad[i]) << ", differences " << static_cast<double>(fd) << ", smax "
                          << g[i]);
        CHECK(std::fabs(e.grad[i] - fd) <= 1e-8L * std::fmax(m, std::fabs(fd)) + 1e-12L);
        CHECK(std::fabs(static_cast<real>(g[i]) - fd) <= 1e-6L * std::fmax(m, std::fabs(fd)) + 1e-12L);
      }
    }
  }
}

TEST_CASE("cross-entropy worked examples", "[cross_entropy]") {
  const double ln2 = std::log(2.0), ln3 = std::log(3.0);
  for (smax::isa which : isas_under_test()) {
    smax::scoped_isa use(which);
    INFO("isa " << smax::isa_name(which));
    // Two equal logits: p = 1/2 each, loss log 2, gradient (p - onehot) / rows.
    const double even[2] = {0, 0};
    const int target0[1] = {0};
    double g[2];
    CHECK(smax::cross_entropy_with_grad(even, target0, g, 1, 2) == Approx(ln2).epsilon(1e-15));
    CHECK(g[0] == Approx(-0.5).epsilon(1e-15));
    CHECK(g[1] == Approx(0.5).epsilon(1e-15));
    // Logits 0 and log 3: p = (1/4, 3/4); target 1 costs log(4/3), gradient (1/4, -1/4).
    const double quarter[2] = {0, ln3};
    const int target1[1] = {1};
    CHECK(smax::cross_entropy_with_grad(quarter, target1, g, 1, 2) == Approx(std::log(4.0 / 3)).epsilon(1e-14));
    CHECK(g[0] == Approx(0.25).epsilon(1e-14));
    CHECK(g[1] == Approx(-0.25).epsilon(1e-14));
    // Full label smoothing over 3 equal logits: the loss is log 3 and the
    // gradient p - 1/3 vanishes.
    const double three[3] = {0, 0, 0};
    smax::cross_entropy_options<double> smooth;
    smooth.label_smoothing = 1.0;
    double g3[3];
    CHECK(smax::cross_entropy_with_grad(three, target0, g3, 1, 3, smooth) == Approx(ln3).epsilon(1e-15));
    for (double v : g3) CHECK(std::fabs(v) < 1e-16);
    // Weighted mean over two rows: (1 * log 2 + 3 * log 2) / (1 + 3) = log 2.
    const double rows2[4] = {0, 0, 0, 0};
    const std::int64_t targets01[2] = {0, 1};
    const double weights[2] = {1, 3};
    smax::cross_entropy_options<double> weighted;
    weighted.weight = weights;
    CHECK(smax::cross_entropy(rows2, targets01, 2, 2, weighted) == Approx(ln2).epsilon(1e-15));
    // z-loss adds z * lse^2: lse of (0, 0) is log 2.
    smax::cross_entropy_options<double> z;
    z.z_loss = 0.5;
    CHECK(smax::cross_entropy(even, target0, 1, 2, z) == Approx(ln2 + 0.5 * ln2 * ln2).epsilon(1e-15));
    // Soft target (1/2, 1/2) on equal logits: log 2.
    const double half[2] = {0.5, 0.5};
    CHECK(smax::cross_entropy(smax::matrix_view<const double>(even, 1, 2),
                              smax::matrix_view<const double>(half, 1, 2)) == Approx(ln2).epsilon(1e-15));
    // All rows ignored: the mean is 0/0 = NaN (as in PyTorch), the sum 0, the gradient 0.
    const int ignored[2] = {-100, -100};
    double g4[4] = {1, 1, 1, 1};
    CHECK(std::isnan(smax::cross_entropy_with_grad(rows2, ignored, g4, 2, 2)));
    for (double v : g4) CHECK(v == 0);
    smax::cross_entropy_options<double> sum;
    sum.reduction = smax::reduction::sum;
    CHECK(smax::cross_entropy(rows2, ignored, 2, 2, sum) == 0);
    // ignore_index may be a valid class: rows with that target are skipped.
    smax::cross_entropy_options<double> skip1;
    skip1.ignore_index = 1;
    CHECK(smax::cross_entropy(rows2, targets01, 2, 2, skip1) == Approx(ln2).epsilon(1e-15));
    // -inf at the target: infinite loss; at another class: no effect.
    const double masked[3] = {0, -std::numeric_limits<double>::infinity(), 0};
    const int target_masked[1] = {1};
    CHECK(smax::cross_entropy(masked, target_masked, 1, 3) == std::numeric_limits<double>::infinity());
    CHECK(smax::cross_entropy(masked, target0, 1, 3) == Approx(ln2).epsilon(1e-15));
  }
}

// Short rows of a forward call run four at a time; each row's loss and
// logsumexp must be those of the same row alone, bit for bit, whether its
// group runs grouped or (a row the float lanes cannot take: +inf, NaN, all
// -inf, huge logits) row by row, and whatever the options the grouping allows.
TEMPLATE_TEST_CASE("short-row cross-entropy groups give each row's one-row result bitwise", "[cross_entropy]", float,
                   double) {
  using T = TestType;
  constexpr T kInf = std::numeric_limits<T>::infinity();
  const std::size_t rows = 23;
  for (std::size_t classes : {1, 2, 5, 16, 17, 33, 64, 100, 512, 513}) {
    std::vector<T> x = make_row<T>(family::normal_x10, rows * classes, classes + 101);
    const auto row = [&](std::size_t r) { return x.data() + r * classes; };
    row(1)[0] = kInf;
    row(6)[classes - 1] = std::numeric_limits<T>::quiet_NaN();
    std::fill(row(9), row(9) + classes, -kInf);
    for (std::size_t c = 0; c < classes; ++c) row(13)[c] += T(3e7);  // beyond the float lanes' 2^24
    for (std::size_t c = 0; c < classes; ++c) row(14)[c] += T(300);  // x - m exact (m >= 224)
    std::vector<std::int64_t> target(rows);
    for (std::size_t r = 0; r < rows; ++r) target[r] = static_cast<std::int64_t>((r * 7) % classes);
    target[17] = -100;  // ignored
    std::vector<T> weight(classes);
    for (std::size_t c = 0; c < classes; ++c) weight[c] = T(0.25) + T(c % 3);
    for (smax::isa which : isas_under_test()) {
      smax::scoped_isa use(which);
      for (int variant = 0; variant < 3; ++variant) {
        INFO("isa " << smax::isa_name(which) << ", " << classes << " classes, variant " << variant);
        smax::cross_entropy_options<T> o;
        o.reduction = smax::reduction::none;
        if (variant == 1) o.weight = weight.data();
        if (variant == 2) o.z_loss = 1e-3;
        std::vector<T> losses(rows), lse(rows);
        o.losses = losses.data();
        o.logsumexp = lse.data();
        smax::cross_entropy(x.data(), target.data(), rows, classes, o);
        for (std::size_t r = 0; r < rows; ++r) {
          T loss1 = 0, lse1 = 0;
          smax::cross_entropy_options<T> one = o;
          one.losses = &loss1;
          one.logsumexp = &lse1;
          smax::cross_entropy(row(r), target.data() + r, 1, classes, one);
          INFO("row " << r << ": " << losses[r] << " vs " << loss1 << ", lse " << lse[r] << " vs " << lse1);
          CHECK(same_bytes(&losses[r], &loss1, sizeof(T)));
          CHECK(same_bytes(&lse[r], &lse1, sizeof(T)));
        }
      }
    }
  }
}

TEST_CASE("a million-row mean does not drift", "[cross_entropy]") {
  // Every row is (0, 0) with target 0: each loss is log 2 exactly as rounded,
  // so the mean must be log 2 to within the float bound, not drift with n.
  const std::size_t rows = 1 << 20;
  std::vector<float> x(2 * rows, 0.0f);
  std::vector<std::int32_t> t(rows, 0);
  for (smax::isa which : isas_under_test()) {
    smax::scoped_isa use(which);
    const float loss = smax::cross_entropy(x.data(), t.data(), rows, 2);
    INFO("isa " << smax::isa_name(which) << ": " << loss);
    CHECK(ulp_error<float>(loss, std::log(static_cast<real>(2))) <= 2);
  }
}

TEMPLATE_TEST_CASE("cross-entropy argument errors name the argument, row and value", "[cross_entropy][errors]", float,
                   double) {
  using T = TestType;
  using cview = smax::matrix_view<const T>;
  std::vector<T> x(12, T(0.5));
  std::vector<std::int64_t> t = {0, 1, 2};
  guarded_matrix<T> grad(3, 4, 4), out(1, 3, 3);
  auto expect_error = [&](auto call, std::initializer_list<const char*> fragments) {
    try {
      call();
      FAIL("no smax::error thrown");
    } catch (const smax::error& e) {
      const std::string message = e.what();
      INFO("message: " << message);
      for (const char* f : fragments) CHECK(message.find(f) != std::string::npos);
    }
    CHECK(grad.untouched());
    CHECK(out.untouched());
  };
  const cview logits(x.data(), 3, 4);
  smax::cross_entropy_options<T> o;

  std::vector<std::int64_t> bad = {0, 4, 1};
  expect_error([&] { (void)smax::cross_entropy_with_grad(logits, bad.data(), grad.view(), o); },
               {"smax::cross_entropy_with_grad: target[1] = 4 is outside [0, 4)", "ignore_index (-100)"});
  bad = {-1, 0, 0};
  expect_error([&] { (void)smax::cross_entropy(logits, bad.data(), o); }, {"target[0] = -1 is outside"});
  std::vector<T> w = {1, -0.5, 1, 1};
  o.weight = w.data();
  expect_error([&] { (void)smax::cross_entropy(logits, t.data(), o); },
               {"smax::cross_entropy: weight[1] = -0.5 is negative"});
  w[1] = std::numeric_limits<T>::quiet_NaN();
  expect_error([&] { (void)smax::cross_entropy(logits, t.data(), o); }, {"weight[1] = nan is not a number"});
  w[1] = std::numeric_limits<T>::infinity();
  expect_error([&] { (void)smax::cross_entropy(logits, t.data(), o); }, {"weight[1] = inf is infinite"});
  o = {};
  o.label_smoothing = 1.5;
  expect_error([&] { (void)smax::cross_entropy(logits, t.data(), o); }, {"label_smoothing = 1.5 is outside [0, 1]"});
  o.label_smoothing = std::nan("");
  expect_error([&] { (void)smax::cross_entropy(logits, t.data(), o); }, {"label_smoothing = nan"});
  o = {};
  o.z_loss = -1e-4;
  expect_error([&] { (void)smax::cross_entropy(logits, t.data(), o); },
               {"z_loss = -0.0001 is not a finite value >= 0"});
  o.z_loss = std::nan("");
  expect_error([&] { (void)smax::cross_entropy(logits, t.data(), o); }, {"z_loss = nan"});
  o = {};
  o.reduction = smax::reduction::none;
  expect_error([&] { (void)smax::cross_entropy(logits, t.data(), o); },
               {"reduction is none but options.losses is null"});
  o = {};
  expect_error([&] { (void)smax::cross_entropy(logits, static_cast<const std::int64_t*>(nullptr), o); },
               {"target is null"});
  expect_error([&] { (void)smax::cross_entropy(cview(nullptr, 3, 4), t.data(), o); }, {"logits.data is null"});
  expect_error(
      [&] { (void)smax::cross_entropy_with_grad(logits, t.data(), smax::matrix_view<T>(grad.data(), 3, 3), o); },
      {"logits is 3 x 4 but grad is 3 x 3"});
  expect_error([&] { (void)smax::cross_entropy(logits, cview(x.data(), 3, 3), o); },
               {"logits is 3 x 4 but target is 3 x 3"});
  expect_error([&] { (void)smax::cross_entropy(cview(x.data(), 3, 0), t.data(), o); }, {"no classes"});
  // Partial aliasing: the gradient one element into the logits, per-row outputs
  // inside the logits or the gradient.
  std::vector<T> shared(20, T(0.5));
  expect_error(
      [&] {
        (void)smax::cross_entropy_with_grad(cview(shared.data(), 3, 4), t.data(),
                                            smax::matrix_view<T>(shared.data() + 1, 3, 4), o);
      },
      {"grad overlaps logits without being the same buffer"});
  o.losses = shared.data() + 2;
  expect_error([&] { (void)smax::cross_entropy(cview(shared.data(), 3, 4), t.data(), o); },
               {"options.losses overlaps logits"});
  o.losses = nullptr;
  o.logsumexp = grad.data();
  expect_error([&] { (void)smax::cross_entropy_with_grad(logits, t.data(), grad.view(), o); },
               {"options.logsumexp overlaps grad"});
  o.logsumexp = nullptr;
  expect_error([&] { smax::cross_entropy_backward(logits, t.data(), static_cast<const T*>(nullptr), grad.view(), o); },
               {"smax::cross_entropy_backward: logsumexp is null"});
}

}  // namespace
}  // namespace smax_test

namespace smax_test {
namespace {

// With logits near FLT_MAX the z-loss term makes the gradient's scale
// 2 z lse / S overflow float. The entries with p = 0 must still be 0, not
// 0 * inf = NaN (the FMA paths once built that scale as a float; found by
// fuzz_cross_entropy).
TEST_CASE("z-loss gradient with logits near FLT_MAX keeps zero-probability entries at 0", "[cross_entropy]") {
  const float x[4] = {0x1.fffffcp+127f, 1.0f, -3.0f, 0.5f};
  const std::int64_t target[1] = {1};
  smax::cross_entropy_options<float> o;
  o.reduction = smax::reduction::sum;
  o.z_loss = 1.0;
  for (smax::isa which : isas_under_test()) {
    smax::scoped_isa use(which);
    INFO(smax::isa_name(which));
    float g[4];
    smax::cross_entropy_with_grad(x, target, g, 1, 4, o);
    CHECK(g[1] == -1.0f);  // -(1 - p_t) with p_t = 0
    CHECK(g[2] == 0.0f);
    CHECK(g[3] == 0.0f);
  }
}

}  // namespace
}  // namespace smax_test

namespace smax_test {
namespace {

// Class weights at the ends of double's range (found by fuzz_cross_entropy as
// NaN gradients). Target weights summing to a subnormal: upstream / sum
// overflows double, yet every gradient entry is finite (each is a weight over
// that sum), and the mean must not lose its digits to subnormal row losses.
// Weights summing beyond DBL_MAX: without smoothing their total is not used,
// and 0 * inf must not leak into the gradient.
TEST_CASE("weighted mean cross-entropy with extreme class weights", "[cross_entropy]") {
  const double tiny = std::numeric_limits<double>::denorm_min();
  struct weights_case {
    const char* name;
    std::vector<double> weight;
    double smoothing;
  } cases[] = {
      // A huge class weight off the targets: without smoothing it is never used.
      {"tiny targets, one huge class", {tiny, 1e-310, 0x1p1020, 3 * tiny, 0.5}, 0.0},
      {"all tiny, smoothing", {tiny, 1e-310, 7e-320, 3 * tiny, 2e-315}, 0.1},
      {"total beyond DBL_MAX",
       {1.0, std::numeric_limits<double>::max(), std::numeric_limits<double>::max(), 0.5, 2.0},
       0.0},
  };
  for (const weights_case& c : cases) {
    ce_problem<double> p;
    p.rows = 3;
    p.classes = 5;
    p.logits = {1.5, -2.0, 0.25, 3.0, -0.5, 0.0, 7.0, -1.0, 2.0, 1.0, -3.0, 0.5, 0.5, 4.0, -8.0};
    p.targets = {0, 3, c.weight[1] < 1 ? 1 : 4};
    p.weight = c.weight;
    p.smoothing = c.smoothing;
    p.reduce = smax::reduction::mean;
    const std::vector<reference_row> refs = reference_rows(p.logits, p.rows, p.classes);
    check_problem<double, std::int64_t>(p, ce_reference(p, refs), c.name);
  }
}

// label_smoothing 1 makes every soft target 1 / C: a -inf logit then gives an
// infinite loss, never 0 * inf = NaN from the vanished (1 - eps) share (found
// by fuzz_cross_entropy).
TEMPLATE_TEST_CASE("soft targets with smoothing and a -inf logit without target mass give +inf", "[cross_entropy]",
                   float, double) {
  using T = TestType;
  const T x[3] = {0, -std::numeric_limits<T>::infinity(), 1};
  const T q[3] = {T(0.25), 0, T(0.75)};
  smax::cross_entropy_options<T> o;
  o.label_smoothing = 1.0;
  o.reduction = smax::reduction::sum;
  for (smax::isa which : isas_under_test()) {
    smax::scoped_isa use(which);
    INFO(smax::isa_name(which));
    const T loss = smax::cross_entropy(smax::matrix_view<const T>{x, 1, 3}, smax::matrix_view<const T>{q, 1, 3}, o);
    CHECK(loss == std::numeric_limits<T>::infinity());
    // Smoothing below 1: the target share of the -inf class is 0 (no NaN), the
    // smoothed one makes the loss infinite.
    smax::cross_entropy_options<T> partial = o;
    partial.label_smoothing = 0.1;
    CHECK(smax::cross_entropy(smax::matrix_view<const T>{x, 1, 3}, smax::matrix_view<const T>{q, 1, 3}, partial) ==
          std::numeric_limits<T>::infinity());
  }
}

// A negative soft target under a -inf logit: the target share (1 - eps) q d is
// +inf and the smoothed share (eps / C) d is -inf, which summed apart gave NaN.
// The sign of q' = (1 - eps) q + eps / C decides (found by fuzz_cross_entropy).
TEMPLATE_TEST_CASE("soft targets: a negative target under a -inf logit gives the infinity of q'", "[cross_entropy]",
                   float, double) {
  using T = TestType;
  const T inf = std::numeric_limits<T>::infinity();
  const T x[3] = {0, -inf, 1};
  smax::cross_entropy_options<T> o;
  o.label_smoothing = 0.5;  // eps / C = 1/6
  o.reduction = smax::reduction::none;
  struct case_t {
    T q_at_minus_inf, loss;
  };
  // q' = q / 2 + 1/6: positive (+inf loss), negative (-inf loss).
  const case_t cases[] = {{T(-0.25), inf}, {T(-0.5), -inf}};
  for (smax::isa which : isas_under_test()) {
    smax::scoped_isa use(which);
    INFO(smax::isa_name(which));
    for (const case_t& k : cases) {
      INFO("q at the -inf logit " << k.q_at_minus_inf);
      const T q[3] = {T(0.5), k.q_at_minus_inf, T(0.75)};
      T losses[1] = {0};
      o.losses = losses;
      smax::cross_entropy(smax::matrix_view<const T>{x, 1, 3}, smax::matrix_view<const T>{q, 1, 3}, o);
      CHECK(losses[0] == k.loss);
    }
  }
  // q' exactly 0 at the -inf logit: the class adds nothing. Two classes,
  // eps = 1/2: q' = q / 2 + 1/4, 0 for q = -1/2; the other class has q' = 1
  // at the maximum, so the loss is log S - 0 = 0.
  const T x2[2] = {1, -inf}, q2[2] = {T(1.5), T(-0.5)};
  for (smax::isa which : isas_under_test()) {
    smax::scoped_isa use(which);
    INFO(smax::isa_name(which));
    T losses[1] = {1};
    o.losses = losses;
    smax::cross_entropy(smax::matrix_view<const T>{x2, 1, 2}, smax::matrix_view<const T>{q2, 1, 2}, o);
    CHECK(losses[0] == 0);
  }
}

// The backward with a logsumexp that is not the forward's (78 below the row's
// here) and a subnormal upstream: scaled by 1 / S ~ e^-78 the gradient's
// factor underflowed, and exp(d) ~ e^78 magnified what was left. One class,
// so every exact gradient is 0 (found by fuzz_cross_entropy).
TEST_CASE("cross_entropy_backward with a foreign logsumexp and a tiny upstream", "[cross_entropy]") {
  const double x[1] = {0.0}, q[1] = {0.0}, lse[1] = {-78.77};
  const double upstream[1] = {0x0.05446fdda3f37p-1022};
  smax::cross_entropy_options<double> o;
  o.reduction = smax::reduction::none;
  o.row_upstream = upstream;
  o.label_smoothing = 0.0613;
  for (smax::isa which : isas_under_test()) {
    smax::scoped_isa use(which);
    INFO(smax::isa_name(which));
    double g[1] = {1.0};
    smax::cross_entropy_backward(smax::matrix_view<const double>{x, 1, 1}, smax::matrix_view<const double>{q, 1, 1},
                                 lse, smax::matrix_view<double>{g, 1, 1}, o);
    CHECK(g[0] == 0.0);
  }
}

// Target weights totalling beyond DBL_MAX under a mean: the plain sum
// overflowed, and its NaN residual made the z-loss scale upstream / sum NaN
// for every entry (found by fuzz_cross_entropy). The sum in weight units
// gives the scale; the z-loss term 2 z lse p then survives a scale of 1e-309.
TEST_CASE("a weighted mean whose target weights total beyond DBL_MAX keeps the z-loss gradient", "[cross_entropy]") {
  const double big = 0x1.ffffffffffffcp+1023, heavy = 0x1.3886ap+13;
  const double weight[3] = {big, heavy, 1.0};
  const double x[3][3] = {{0.0, 0.0, 0x1p971}, {0.0, 0.0, 0.0}, {0.0, 0.0, 0.0}};
  const std::int32_t target[3] = {1, 0, 0};  // total: heavy + 2 big
  smax::cross_entropy_options<double> o;
  o.weight = weight;
  o.reduction = smax::reduction::mean;
  o.z_loss = 1.0;
  o.upstream = 0.75;
  const real scale = static_cast<real>(o.upstream) / (static_cast<real>(heavy) + 2 * static_cast<real>(big));
  // Row 0: p = (0, 0, 1) up to e^-2^971, lse = 2^971; beta_2 = 0 (target 1).
  const real g02 = scale * (static_cast<real>(heavy) + 2 * 0x1p971L);
  for (smax::isa which : isas_under_test()) {
    smax::scoped_isa use(which);
    INFO(smax::isa_name(which));
    double g[3][3];
    smax::cross_entropy_with_grad(smax::matrix_view<const double>{&x[0][0], 3, 3}, target,
                                  smax::matrix_view<double>{&g[0][0], 3, 3}, o);
    CHECK(std::fabs(static_cast<real>(g[0][2]) - g02) <= 1e-12L * g02);
    CHECK(g[0][0] == 0.0);
  }
}

// A subnormal class weight at the target with smoothing: w_t (1 - eps) was
// rounded to a multiple of 2^-1074 (here back to w_t) before nll = 2^970
// brought the product to 2^-104, 10% off (found by fuzz_cross_entropy).
TEST_CASE("a subnormal target weight with smoothing keeps the target share's digits", "[cross_entropy]") {
  const double x[2] = {-0x1p970, 0.0}, weight[2] = {0x1p-1074, 1.0};
  const std::int64_t target[1] = {0};
  smax::cross_entropy_options<double> o;
  o.label_smoothing = 0.1;
  o.weight = weight;
  o.reduction = smax::reduction::sum;
  // log S = 0 and d = (-2^970, 0): loss = (1 - eps) w_0 2^970 + (eps / 2) w_0 2^970.
  const real exact = (1 - static_cast<real>(o.label_smoothing) / 2) * 0x1p-104L;
  for (smax::isa which : isas_under_test()) {
    smax::scoped_isa use(which);
    INFO(smax::isa_name(which));
    const double loss = smax::cross_entropy(smax::matrix_view<const double>{x, 1, 2}, target, o);
    CHECK(ulp_error<double>(loss, exact) <= 4);
  }
}

}  // namespace
}  // namespace smax_test
