// smax::bfloat16 and smax::half, and the array conversions between them and
// float on every ISA path, against references written here independently of
// the library: decoding by ldexp from the fields, and rounding by picking the
// nearest of all representable values (ties to the even encoding) in double
// arithmetic, where every comparison made is exact.
//
// Every path must give the documented bits: widening is exact; narrowing
// rounds to nearest even, keeps subnormals, overflows to infinity and keeps a
// NaN a quiet NaN with its sign and top payload bits. Arrays are checked at
// every length 0..67 and a few long ones, with guard cells after the output
// and, on Unix, with input and output ending against an inaccessible page.
#include <smax/detail/convert.hpp>
#include <smax/types.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "support/catch.hpp"
#include "support/isas.hpp"

#if defined(__unix__)
#include <sys/mman.h>
#include <unistd.h>
#endif
#if defined(__x86_64__)
#include <xmmintrin.h>
#endif

namespace smax_test {
namespace {

using smax::bfloat16;
using smax::half;

// ---- Test-local helpers and references (no library code involved). ----

std::uint32_t bits_of(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

float float_of(std::uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

std::string hex(std::uint32_t u) {
  std::ostringstream s;
  s << "0x" << std::hex << u;
  return s.str();
}

// The layout of a two-byte binary format.
struct format {
  int exponent_bits;
  int fraction_bits;
  const char* name;

  int bias() const { return (1 << (exponent_bits - 1)) - 1; }
  std::uint32_t exponent_mask() const { return ((1u << exponent_bits) - 1u) << fraction_bits; }
  std::uint32_t fraction_mask() const { return (1u << fraction_bits) - 1u; }
  std::uint16_t inf_code() const { return static_cast<std::uint16_t>(exponent_mask()); }
  std::uint16_t max_finite_code() const { return static_cast<std::uint16_t>(exponent_mask() - 1u); }
  // The first power of two past the largest finite value: rounding treats it
  // as the neighbour above that value, and its "encoding" is infinity's.
  double overflow_power() const { return std::ldexp(1.0, bias() + 1); }

  // Value of a finite code (sign included); NaN for NaN codes.
  double decode(std::uint16_t code) const {
    const bool negative = (code & 0x8000u) != 0;
    const std::uint32_t e = (code & exponent_mask()) >> fraction_bits;
    const std::uint32_t f = code & fraction_mask();
    double magnitude;
    if (e == (1u << exponent_bits) - 1u) {
      magnitude = f == 0 ? std::numeric_limits<double>::infinity() : std::numeric_limits<double>::quiet_NaN();
    } else if (e == 0) {
      magnitude = std::ldexp(static_cast<double>(f), 1 - bias() - fraction_bits);
    } else {
      magnitude =
          std::ldexp(static_cast<double>(f | (1u << fraction_bits)), static_cast<int>(e) - bias() - fraction_bits);
    }
    return negative ? -magnitude : magnitude;
  }
};

constexpr format kBf16{8, 7, "bfloat16"};
constexpr format kHalf{5, 10, "half"};

template <class T>
const format& format_of() {
  if constexpr (std::is_same_v<T, bfloat16>) {
    return kBf16;
  } else {
    return kHalf;
  }
}

// Widening reference: the float bits a code must become. Finite values and
// infinities by value (every bfloat16 and half value is a float); NaNs as
// documented: a bfloat16 NaN is widened as it is, a half NaN comes back with
// its sign and payload and the quiet bit set.
std::uint32_t widened(const format& fmt, std::uint16_t code) {
  const double v = fmt.decode(code);
  if (!std::isnan(v)) return bits_of(static_cast<float>(v));
  if (&fmt == &kBf16) return static_cast<std::uint32_t>(code) << 16;
  return ((code & 0x8000u) << 16) | 0x7fc00000u | ((code & 0x03ffu) << 13);
}

// Narrowing reference: all non-negative finite values of a format in code
// order (which is value order), searched for the neighbours of |x|.
class rounding_reference {
 public:
  explicit rounding_reference(const format& fmt) : fmt_(fmt) {
    for (std::uint32_t c = 0; c <= fmt.max_finite_code(); ++c)
      values_.push_back(fmt.decode(static_cast<std::uint16_t>(c)));
  }

  std::uint16_t operator()(float x) const {
    const std::uint32_t u = bits_of(x);
    const std::uint16_t sign = static_cast<std::uint16_t>((u >> 16) & 0x8000u);
    if (std::isnan(x)) {
      // Documented: quiet bit set, sign and the top fraction bits kept.
      const std::uint32_t quiet = 1u << (fmt_.fraction_bits - 1);
      return static_cast<std::uint16_t>(sign | fmt_.exponent_mask() | quiet |
                                        ((u & 0x007fffffu) >> (23 - fmt_.fraction_bits)));
    }
    const double a = std::fabs(static_cast<double>(x));
    // First value >= a; its predecessor is the candidate below.
    const auto it = std::lower_bound(values_.begin(), values_.end(), a);
    std::uint32_t code;
    if (it != values_.end() && *it == a) {
      code = static_cast<std::uint32_t>(it - values_.begin());
    } else if (a >= fmt_.overflow_power()) {
      code = fmt_.inf_code();
    } else {
      const std::uint32_t above = static_cast<std::uint32_t>(it - values_.begin());  // == size: the overflow power
      const std::uint32_t below = above - 1;
      const double hi = it == values_.end() ? fmt_.overflow_power() : *it;
      const double lo = values_[below];
      // 2a and lo + hi are exact in double (adjacent values, and a float), so
      // this comparison is the exact nearest-value decision.
      const double twice = 2 * a, sum = lo + hi;
      if (twice < sum) {
        code = below;
      } else if (twice > sum) {
        code = above;
      } else {
        code = (below & 1u) == 0 ? below : above;  // tie: the even encoding (inf's is even)
      }
      if (code > fmt_.max_finite_code()) code = fmt_.inf_code();
    }
    return static_cast<std::uint16_t>(sign | code);
  }

  const std::vector<double>& values() const { return values_; }

 private:
  const format& fmt_;
  std::vector<double> values_;
};

template <class T>
const rounding_reference& reference_of() {
  static const rounding_reference ref(format_of<T>());
  return ref;
}

float next_up(float x) { return std::nextafter(x, std::numeric_limits<float>::infinity()); }
float next_down(float x) { return std::nextafter(x, -std::numeric_limits<float>::infinity()); }

// Floats that exercise rounding into format `fmt`: every representable value,
// every midpoint between neighbours (ties of both parities, in every binade
// and across the subnormal range) and the floats just either side of each,
// the overflow threshold, every float exponent with assorted fractions
// (including float subnormals and the tie patterns of both formats), NaNs
// with payloads in various places, and random bit patterns.
std::vector<float> narrowing_inputs(const format& fmt) {
  std::vector<float> xs;
  const std::vector<double>& values = (&fmt == &kBf16 ? reference_of<bfloat16>() : reference_of<half>()).values();
  for (std::size_t i = 0; i < values.size(); ++i) {
    const double lo = values[i];
    const double hi = i + 1 < values.size() ? values[i + 1] : fmt.overflow_power();
    const float v = static_cast<float>(lo);
    const float mid = static_cast<float>((lo + hi) / 2);  // exact: one bit more than the format has
    for (float x : {v, next_up(v), next_down(v), mid, next_up(mid), next_down(mid)}) {
      xs.push_back(x);
      xs.push_back(-x);
    }
  }
  const std::uint32_t fractions[] = {0x000000, 0x000001, 0x000002, 0x400000, 0x7fffff, 0x7ffffe, 0x000fff, 0x001000,
                                     0x001001, 0x002000, 0x003000, 0x007fff, 0x008000, 0x008001, 0x018000, 0x010000,
                                     0x0c0000, 0x100000, 0x7ff000, 0x7fe000, 0x7f8000, 0x7f0000, 0x3fffff, 0x200000};
  std::mt19937 rng(12345);
  for (std::uint32_t e = 0; e <= 255; ++e) {
    for (std::uint32_t f : fractions) {
      xs.push_back(float_of((e << 23) | f));
      xs.push_back(float_of(0x80000000u | (e << 23) | f));
    }
    for (int k = 0; k < 64; ++k) xs.push_back(float_of((static_cast<std::uint32_t>(rng()) & 0x807fffffu) | (e << 23)));
  }
  for (int k = 0; k < 200000; ++k) xs.push_back(float_of(static_cast<std::uint32_t>(rng())));
  const float inf = std::numeric_limits<float>::infinity();
  for (float x : {0.0f,
                  -0.0f,
                  inf,
                  -inf,
                  std::numeric_limits<float>::max(),
                  std::numeric_limits<float>::min(),
                  std::numeric_limits<float>::denorm_min(),
                  65504.0f,
                  65519.0f,
                  next_down(65520.0f),
                  65520.0f,
                  next_up(65520.0f),
                  65536.0f,
                  0x1p-24f,
                  0x1p-25f,
                  next_up(0x1p-25f),
                  next_down(0x1p-25f),
                  0x1p-14f,
                  next_down(0x1p-14f),
                  0x1.ffp127f,
                  next_down(0x1.ffp127f),
                  0x1p-133f,
                  0x1p-134f,
                  0x1p-127f}) {
    xs.push_back(x);
    xs.push_back(-x);
  }
  return xs;
}

// Narrowed codes that differ from the reference, described for the report.
template <class T>
std::size_t count_narrowing_errors(const std::vector<float>& in, const std::vector<T>& out, std::string& first) {
  std::size_t errors = 0;
  const rounding_reference& ref = reference_of<T>();
  for (std::size_t i = 0; i < in.size(); ++i) {
    const std::uint16_t want = ref(in[i]);
    if (out[i].bits() == want) continue;
    if (errors++ == 0) {
      first = "x = " + hex(bits_of(in[i])) + " (index " + std::to_string(i) + "): got " + hex(out[i].bits()) +
              ", want " + hex(want);
    }
  }
  return errors;
}

template <class T>
std::vector<T> all_codes() {
  std::vector<T> codes(65536);
  for (std::uint32_t c = 0; c < 65536; ++c) codes[c] = T::from_bits(static_cast<std::uint16_t>(c));
  return codes;
}

template <class T>
std::size_t count_widening_errors(const std::vector<T>& in, const float* out, std::size_t n, std::string& first) {
  std::size_t errors = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint32_t want = widened(format_of<T>(), in[i].bits());
    if (bits_of(out[i]) == want) continue;
    if (errors++ == 0) {
      first = "code " + hex(in[i].bits()) + ": got " + hex(bits_of(out[i])) + ", want " + hex(want);
    }
  }
  return errors;
}

// An output array followed and preceded by guard cells. (support/buffers.hpp's
// sentinels are for float and double; this one works for any element size.)
template <class T>
class guarded_output {
 public:
  static constexpr std::size_t kGuard = 40;
  static constexpr unsigned char kSentinel = 0xa5;

  explicit guarded_output(std::size_t n) : n_(n), bytes_((n + 2 * kGuard) * sizeof(T), kSentinel) {}
  T* data() { return reinterpret_cast<T*>(bytes_.data()) + kGuard; }
  bool guards_intact() const {
    const std::size_t begin = kGuard * sizeof(T), end = (kGuard + n_) * sizeof(T);
    for (std::size_t i = 0; i < bytes_.size(); ++i) {
      if ((i < begin || i >= end) && bytes_[i] != kSentinel) return false;
    }
    return true;
  }

 private:
  std::size_t n_;
  std::vector<unsigned char> bytes_;
};

#if defined(__unix__)
// `bytes` of read-write memory whose end touches a PROT_NONE page (and whose
// start, when `at_start`, directly follows one), so that any access past the
// array faults.
class page_guarded {
 public:
  page_guarded(std::size_t bytes, bool at_start) {
    page_ = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    const std::size_t pages = (bytes + page_ - 1) / page_;
    size_ = (pages + 2) * page_;
    void* base = mmap(nullptr, size_, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(base != MAP_FAILED);
    base_ = static_cast<unsigned char*>(base);
    if (pages > 0) REQUIRE(mprotect(base_ + page_, pages * page_, PROT_READ | PROT_WRITE) == 0);
    data_ = at_start ? base_ + page_ : base_ + page_ + pages * page_ - bytes;
  }
  ~page_guarded() { munmap(base_, size_); }
  page_guarded(const page_guarded&) = delete;
  page_guarded& operator=(const page_guarded&) = delete;
  template <class T>
  T* as() const {
    return reinterpret_cast<T*>(data_);
  }

 private:
  std::size_t page_ = 0, size_ = 0;
  unsigned char* base_ = nullptr;
  unsigned char* data_ = nullptr;
};
#endif

// Lengths: every tail of the widest vector (16 floats, unrolled twice) and a
// few long arrays with odd tails.
std::vector<std::size_t> conversion_lengths() {
  std::vector<std::size_t> ns;
  for (std::size_t n = 0; n <= 67; ++n) ns.push_back(n);
  for (std::size_t n : {255u, 1000u, 4099u, 65543u}) ns.push_back(n);
  return ns;
}

// ---- The types themselves. ----

static_assert(sizeof(bfloat16) == 2 && sizeof(half) == 2);
static_assert(std::is_trivially_copyable_v<bfloat16> && std::is_trivially_copyable_v<half>);
static_assert(std::is_standard_layout_v<bfloat16> && std::is_standard_layout_v<half>);
static_assert(std::is_trivially_default_constructible_v<bfloat16> && std::is_trivially_default_constructible_v<half>);
static_assert(!std::is_convertible_v<float, bfloat16> && !std::is_convertible_v<float, half>,
              "rounding must be asked for explicitly");
static_assert(std::is_convertible_v<bfloat16, float> && std::is_convertible_v<half, float>);
#if SMAX_HAS_BIT_CAST
// The conversions work in constant expressions.
static_assert(bfloat16(1.0f).bits() == 0x3f80 && half(1.0f).bits() == 0x3c00);
static_assert(bfloat16(-2.5f).bits() == 0xc020 && half(-2.5f).bits() == 0xc100);
static_assert(half(65520.0f).bits() == 0x7c00 && half(0x1p-24f).bits() == 0x0001);
static_assert(static_cast<float>(half::from_bits(0x0001)) == 0x1p-24f);
static_assert(static_cast<float>(bfloat16::from_bits(0x0001)) == 0x1p-133f);
#endif

TEST_CASE("bfloat16 and half: value semantics and numeric_limits", "[types]") {
  CHECK(bfloat16{}.bits() == 0);
  CHECK(half{}.bits() == 0);
  CHECK(bfloat16::from_bits(0x1234).bits() == 0x1234);
  CHECK(half::from_bits(0xabcd).bits() == 0xabcd);
  // Arithmetic and comparisons go through float.
  const half h(1.5f);
  const bfloat16 b(2.0f);
  CHECK(h + b == 3.5f);
  CHECK(h < b);
  CHECK(half(0.0f) == half(-0.0f));
  CHECK_FALSE(half::from_bits(0x7e00) == half::from_bits(0x7e00));  // NaN
  CHECK(half(b).bits() == 0x4000);                                  // via float, exact here

  using bl = std::numeric_limits<bfloat16>;
  using hl = std::numeric_limits<half>;
  CHECK(static_cast<double>(bl::max()) == std::ldexp(255.0, 120));
  CHECK(static_cast<double>(bl::lowest()) == -std::ldexp(255.0, 120));
  CHECK(static_cast<double>(bl::min()) == std::ldexp(1.0, -126));
  CHECK(static_cast<double>(bl::denorm_min()) == std::ldexp(1.0, -133));
  CHECK(static_cast<double>(bl::epsilon()) == std::ldexp(1.0, 1 - bl::digits));
  CHECK(static_cast<double>(hl::max()) == 65504.0);
  CHECK(static_cast<double>(hl::lowest()) == -65504.0);
  CHECK(static_cast<double>(hl::min()) == std::ldexp(1.0, -14));
  CHECK(static_cast<double>(hl::denorm_min()) == std::ldexp(1.0, -24));
  CHECK(static_cast<double>(hl::epsilon()) == std::ldexp(1.0, 1 - hl::digits));
  CHECK(static_cast<double>(bl::round_error()) == 0.5);
  CHECK(static_cast<double>(hl::round_error()) == 0.5);
  CHECK(std::isinf(static_cast<float>(bl::infinity())));
  CHECK(std::isinf(static_cast<float>(hl::infinity())));
  CHECK(std::isnan(static_cast<float>(bl::quiet_NaN())));
  CHECK(std::isnan(static_cast<float>(hl::quiet_NaN())));
  // A signalling NaN has the quiet bit (the fraction's top bit) clear.
  CHECK((bl::signaling_NaN().bits() & 0x7f80) == 0x7f80);
  CHECK((bl::signaling_NaN().bits() & 0x0040) == 0);
  CHECK((bl::signaling_NaN().bits() & 0x003f) != 0);
  CHECK((hl::signaling_NaN().bits() & 0x7c00) == 0x7c00);
  CHECK((hl::signaling_NaN().bits() & 0x0200) == 0);
  CHECK((hl::signaling_NaN().bits() & 0x01ff) != 0);
  CHECK(bl::min_exponent == std::numeric_limits<float>::min_exponent);
  CHECK(bl::max_exponent == std::numeric_limits<float>::max_exponent);
  CHECK(hl::min_exponent == -13);
  CHECK(hl::max_exponent == 16);
}

TEST_CASE("element conversions match the references for every code and every test float", "[types]") {
  std::string first;
  std::size_t errors = 0;
  for (std::uint32_t c = 0; c < 65536; ++c) {
    const auto code = static_cast<std::uint16_t>(c);
    const std::uint32_t got_b = bits_of(static_cast<float>(bfloat16::from_bits(code)));
    const std::uint32_t got_h = bits_of(static_cast<float>(half::from_bits(code)));
    if (got_b != widened(kBf16, code) && errors++ == 0) first = "bfloat16 " + hex(c) + " -> " + hex(got_b);
    if (got_h != widened(kHalf, code) && errors++ == 0) first = "half " + hex(c) + " -> " + hex(got_h);
  }
  INFO(first);
  CHECK(errors == 0);

  for (const format* fmt : {&kBf16, &kHalf}) {
    const std::vector<float> xs = narrowing_inputs(*fmt);
    std::size_t narrowing_errors = 0;
    if (fmt == &kBf16) {
      std::vector<bfloat16> out(xs.size());
      for (std::size_t i = 0; i < xs.size(); ++i) out[i] = bfloat16(xs[i]);
      narrowing_errors = count_narrowing_errors(xs, out, first);
    } else {
      std::vector<half> out(xs.size());
      for (std::size_t i = 0; i < xs.size(); ++i) out[i] = half(xs[i]);
      narrowing_errors = count_narrowing_errors(xs, out, first);
    }
    INFO(fmt->name << ": " << first);
    CHECK(narrowing_errors == 0);
  }
}

TEST_CASE("the reference itself: hand-checked roundings", "[types]") {
  const rounding_reference& b = reference_of<bfloat16>();
  const rounding_reference& h = reference_of<half>();
  CHECK(b(1.0f) == 0x3f80);
  CHECK(b(float_of(0x3f808000u)) == 0x3f80);  // tie, even below
  CHECK(b(float_of(0x3f818000u)) == 0x3f82);  // tie, odd below: up
  CHECK(b(float_of(0x3f808001u)) == 0x3f81);  // just above the tie
  CHECK(b(float_of(0x7f7fffffu)) == 0x7f80);  // FLT_MAX overflows
  CHECK(b(float_of(0x00018000u)) == 0x0002);  // subnormal tie, odd below: up
  CHECK(h(65504.0f) == 0x7bff);
  CHECK(h(next_down(65520.0f)) == 0x7bff);
  CHECK(h(65520.0f) == 0x7c00);
  CHECK(h(0x1p-25f) == 0x0000);
  CHECK(h(next_up(0x1p-25f)) == 0x0001);
  CHECK(h(0x1.8p-24f) == 0x0002);  // 1.5 units: tie, odd below: up
  CHECK(h(0x1.4p-23f) == 0x0002);  // 2.5 units: tie, even below: down
  CHECK(h(-0.0f) == 0x8000);
  CHECK(h(float_of(0x7f800001u)) == 0x7e00);
  CHECK(b(float_of(0xff800001u)) == 0xffc0);
}

// ---- Arrays on every ISA path. ----

template <class T>
void check_widening_arrays() {
  const std::vector<T> codes = all_codes<T>();
  for (smax::isa which : isas_under_test()) {
    smax::scoped_isa use(which);
    INFO("isa " << smax::isa_name(which) << ", " << format_of<T>().name);
    std::string first;
    {
      guarded_output<float> out(codes.size());
      smax::detail::to_float(codes.data(), out.data(), codes.size());
      const std::size_t errors = count_widening_errors(codes, out.data(), codes.size(), first);
      INFO("all 65536 codes: " << first);
      CHECK(errors == 0);
      CHECK(out.guards_intact());
    }
    // Every length, at a few starting codes so that tails see NaNs, infinities
    // and subnormals too.
    for (std::size_t n : conversion_lengths()) {
      for (std::size_t start :
           {std::size_t{0}, std::size_t{0x7bf0}, std::size_t{0xfc00} - std::min<std::size_t>(n, 0xfc00)}) {
        if (start + n > codes.size()) continue;
        const std::vector<T> in(codes.begin() + static_cast<std::ptrdiff_t>(start),
                                codes.begin() + static_cast<std::ptrdiff_t>(start + n));
        guarded_output<float> out(n);
        smax::detail::to_float(in.data(), out.data(), n);
        const std::size_t errors = count_widening_errors(in, out.data(), n, first);
        INFO("n = " << n << ", first code " << start << ": " << first);
        CHECK(errors == 0);
        CHECK(out.guards_intact());
      }
    }
  }
}

template <class T>
void check_narrowing_arrays() {
  const std::vector<float> xs = narrowing_inputs(format_of<T>());
  for (smax::isa which : isas_under_test()) {
    smax::scoped_isa use(which);
    INFO("isa " << smax::isa_name(which) << ", " << format_of<T>().name);
    std::string first;
    {
      guarded_output<T> out(xs.size());
      smax::detail::from_float(xs.data(), out.data(), xs.size());
      const std::vector<T> got(out.data(), out.data() + xs.size());
      const std::size_t errors = count_narrowing_errors(xs, got, first);
      INFO(xs.size() << " test floats: " << first);
      CHECK(errors == 0);
      CHECK(out.guards_intact());
    }
    std::mt19937 rng(7);
    for (std::size_t n : conversion_lengths()) {
      // A random window of the test floats, so that every kind of input shows
      // up in tails.
      const std::size_t start = std::uniform_int_distribution<std::size_t>(0, xs.size() - n)(rng);
      const std::vector<float> in(xs.begin() + static_cast<std::ptrdiff_t>(start),
                                  xs.begin() + static_cast<std::ptrdiff_t>(start + n));
      guarded_output<T> out(n);
      smax::detail::from_float(in.data(), out.data(), n);
      const std::vector<T> got(out.data(), out.data() + n);
      const std::size_t errors = count_narrowing_errors(in, got, first);
      INFO("n = " << n << ": " << first);
      CHECK(errors == 0);
      CHECK(out.guards_intact());
    }
  }
}

TEST_CASE("bfloat16 -> float arrays: exact for all 65536 codes on every ISA", "[types][convert]") {
  check_widening_arrays<bfloat16>();
}
TEST_CASE("half -> float arrays: exact for all 65536 codes on every ISA", "[types][convert]") {
  check_widening_arrays<half>();
}
TEST_CASE("float -> bfloat16 arrays: round to nearest even on every ISA", "[types][convert]") {
  check_narrowing_arrays<bfloat16>();
}
TEST_CASE("float -> half arrays: round to nearest even on every ISA", "[types][convert]") {
  check_narrowing_arrays<half>();
}

#if defined(__x86_64__)
// AVX-512 has two float -> bfloat16 paths; the dispatcher shows only one of
// them on a given CPU, so both are checked directly. vcvtneps2bf16 flushes
// float subnormal inputs, which the BF16 path must repair.
TEST_CASE("float -> bfloat16 on AVX-512: the integer path and the AVX-512 BF16 path", "[types][convert]") {
  bool avx512_tested = false;
  for (smax::isa which : isas_under_test()) avx512_tested = avx512_tested || which == smax::isa::avx512;
  if (!avx512_tested) return;
  const std::vector<float> xs = narrowing_inputs(kBf16);
  std::string first;
  for (int path = 0; path < 2; ++path) {
    if (path == 1 && !smax::detail::cpu().avx512_bf16) {
      WARN("this CPU has no AVX-512 BF16; its path is not tested");
      continue;
    }
    INFO((path == 0 ? "integer path" : "AVX-512 BF16 path"));
    for (std::size_t n : conversion_lengths()) {
      if (n > xs.size()) continue;
      guarded_output<bfloat16> out(n);
      if (path == 0) {
        smax::detail::avx512::from_float_integer(xs.data() + xs.size() - n, out.data(), n);
      } else {
        smax::detail::avx512_bf16::from_float(xs.data() + xs.size() - n, out.data(), n);
      }
      const std::vector<float> in(xs.end() - static_cast<std::ptrdiff_t>(n), xs.end());
      const std::vector<bfloat16> got(out.data(), out.data() + n);
      const std::size_t errors = count_narrowing_errors(in, got, first);
      INFO("n = " << n << ": " << first);
      CHECK(errors == 0);
      CHECK(out.guards_intact());
    }
    guarded_output<bfloat16> out(xs.size());
    if (path == 0) {
      smax::detail::avx512::from_float_integer(xs.data(), out.data(), xs.size());
    } else {
      smax::detail::avx512_bf16::from_float(xs.data(), out.data(), xs.size());
    }
    const std::vector<bfloat16> got(out.data(), out.data() + xs.size());
    const std::size_t errors = count_narrowing_errors(xs, got, first);
    INFO("all test floats: " << first);
    CHECK(errors == 0);
    CHECK(out.guards_intact());
  }
}

// The conversions must not depend on MXCSR: round toward zero with FTZ and
// DAZ set gives the same bits (F16C takes its rounding from the immediate and
// does not flush half subnormals; the rest is integer or exact arithmetic).
TEST_CASE("array conversions ignore the rounding mode and FTZ/DAZ", "[types][convert]") {
  const std::vector<float> xb = narrowing_inputs(kBf16), xh = narrowing_inputs(kHalf);
  const std::vector<bfloat16> cb = all_codes<bfloat16>();
  const std::vector<half> ch = all_codes<half>();
  for (smax::isa which : isas_under_test()) {
    smax::scoped_isa use(which);
    INFO("isa " << smax::isa_name(which));
    std::vector<bfloat16> ob(xb.size());
    std::vector<half> oh(xh.size());
    std::vector<float> fb(cb.size()), fh(ch.size());
    const unsigned saved = _mm_getcsr();
    _mm_setcsr(0x1f80u | 0x6000u /* toward zero */ | 0x8000u /* FTZ */ | 0x0040u /* DAZ */);
    smax::detail::from_float(xb.data(), ob.data(), xb.size());
    smax::detail::from_float(xh.data(), oh.data(), xh.size());
    smax::detail::to_float(cb.data(), fb.data(), cb.size());
    smax::detail::to_float(ch.data(), fh.data(), ch.size());
    _mm_setcsr(saved);
    std::string first;
    const std::size_t errors = count_narrowing_errors(xb, ob, first) + count_narrowing_errors(xh, oh, first) +
                               count_widening_errors(cb, fb.data(), fb.size(), first) +
                               count_widening_errors(ch, fh.data(), fh.size(), first);
    INFO(first);
    CHECK(errors == 0);
  }
}
#endif

#if defined(__unix__)
// Inputs and outputs ending against (or starting right after) an inaccessible
// page: reading or writing one element too many faults.
TEST_CASE("array conversions touch nothing outside their n elements", "[types][convert]") {
  const std::vector<float> xs = narrowing_inputs(kHalf);
  for (smax::isa which : isas_under_test()) {
    smax::scoped_isa use(which);
    for (bool at_start : {false, true}) {
      for (std::size_t n = 0; n <= 67; ++n) {
        INFO("isa " << smax::isa_name(which) << ", n = " << n << (at_start ? ", after a guard" : ", before a guard"));
        page_guarded fin(n * sizeof(float), at_start), fout(n * sizeof(float), at_start);
        page_guarded bin(n * 2, at_start), bout(n * 2, at_start);
        std::copy(xs.begin(), xs.begin() + static_cast<std::ptrdiff_t>(n), fin.as<float>());
        smax::detail::from_float(fin.as<float>(), bout.as<half>(), n);
        for (std::size_t i = 0; i < n; ++i) CHECK(bout.as<half>()[i].bits() == reference_of<half>()(xs[i]));
        smax::detail::from_float(fin.as<float>(), bout.as<bfloat16>(), n);
        for (std::size_t i = 0; i < n; ++i) CHECK(bout.as<bfloat16>()[i].bits() == reference_of<bfloat16>()(xs[i]));
        for (std::size_t i = 0; i < n; ++i) bin.as<std::uint16_t>()[i] = static_cast<std::uint16_t>(0x3c00 + i);
        smax::detail::to_float(bin.as<half>(), fout.as<float>(), n);
        for (std::size_t i = 0; i < n; ++i)
          CHECK(bits_of(fout.as<float>()[i]) == widened(kHalf, bin.as<half>()[i].bits()));
        smax::detail::to_float(bin.as<bfloat16>(), fout.as<float>(), n);
        for (std::size_t i = 0; i < n; ++i)
          CHECK(bits_of(fout.as<float>()[i]) == widened(kBf16, bin.as<bfloat16>()[i].bits()));
      }
    }
  }
}
#endif

// ---- The compiler's own two-byte types. ----

// Conversion to and from Native is bit for bit, and Native's own rounding of
// a float (correctly rounded, by the compiler or its runtime) agrees with
// ours for every non-NaN test float.
template <class T, class Native>
void check_native_interop() {
  std::size_t errors = 0;
  std::string first;
  for (std::uint32_t c = 0; c < 65536; ++c) {
    const T ours = T::from_bits(static_cast<std::uint16_t>(c));
    const auto native = static_cast<Native>(ours);
    std::uint16_t native_bits;
    std::memcpy(&native_bits, &native, sizeof native_bits);
    const T back = native;  // implicit: exact
    if ((native_bits != c || back.bits() != c) && errors++ == 0) first = "code " + hex(c) + " changed";
    const float widened_native = static_cast<float>(native);
    if (!std::isnan(widened_native) && bits_of(widened_native) != bits_of(static_cast<float>(ours)) && errors++ == 0) {
      first = "code " + hex(c) + ": the compiler widens it to " + hex(bits_of(widened_native));
    }
  }
  for (float x : narrowing_inputs(format_of<T>())) {
    if (std::isnan(x)) continue;
    const T ours(x);
    const T theirs(static_cast<Native>(x));
    if (ours.bits() != theirs.bits() && errors++ == 0) {
      first = "x = " + hex(bits_of(x)) + ": ours " + hex(ours.bits()) + ", the compiler's " + hex(theirs.bits());
    }
  }
  INFO(first);
  CHECK(errors == 0);
}

#if SMAX_HAS_NATIVE_FLOAT16
TEST_CASE("half converts to and from _Float16 bit for bit", "[types]") { check_native_interop<half, _Float16>(); }
#endif
#if SMAX_HAS_NATIVE_BF16
TEST_CASE("bfloat16 converts to and from __bf16 bit for bit", "[types]") { check_native_interop<bfloat16, __bf16>(); }
#endif

}  // namespace
}  // namespace smax_test
