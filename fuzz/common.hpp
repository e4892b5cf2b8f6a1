// Shared machinery of the libFuzzer targets: decoding bytes into choices and
// values, laying argument buffers out in memory (apart, aliased or partially
// overlapping), snapshots to prove what a call wrote, the caller's
// floating-point environment, checking outputs against expectations derived
// from the headers' contracts, and reporting a violation so that libFuzzer
// records the input.
#pragma once

#include <smax/smax.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "support/reference.hpp"
#include "support/ulp.hpp"

#if defined(__x86_64__)
#include <xmmintrin.h>
#endif

namespace smax_fuzz {

using smax_test::real;

// ---------------------------------------------------------------------------
// Reporting

// Every target registers a function that prints the decoded case, so that a
// violation message carries everything needed to write a reproducer.
using describer = void (*)(std::FILE*);
// The row a violation was found in: large inputs print just that row.
inline std::size_t& focus_row() {
  static std::size_t row = static_cast<std::size_t>(-1);
  return row;
}
inline describer& current_describer() {
  static describer d = nullptr;
  return d;
}

// The options that make the fuzzers stricter than the default (see README):
// SMAX_FUZZ_STRICT=1 also checks the cases the contracts leave open (listed
// where each check is relaxed), SMAX_FUZZ_VERBOSE=1 prints every case.
inline bool strict() {
  static const bool on = [] {
    const char* v = std::getenv("SMAX_FUZZ_STRICT");
    return v != nullptr && *v != '\0' && *v != '0';
  }();
  return on;
}
// SMAX_FUZZ_TOL_SCALE=s multiplies every documented bound by s (default 1):
// below 1 it measures how much margin smax has, and shows the checks bite.
inline real tolerance_scale() {
  static const real scale = [] {
    const char* v = std::getenv("SMAX_FUZZ_TOL_SCALE");
    return v != nullptr && *v != '\0' ? static_cast<real>(std::strtod(v, nullptr)) : real(1);
  }();
  return scale;
}
inline bool verbose() {
  static const bool on = [] {
    const char* v = std::getenv("SMAX_FUZZ_VERBOSE");
    return v != nullptr && *v != '\0' && *v != '0';
  }();
  return on;
}

// SMAX_FUZZ_STATS=1: counts of what the decoded cases covered, printed at
// exit, for tuning the decoders' distributions.
class stats {
 public:
  static stats& get() {
    static stats s;
    return s;
  }
  bool enabled() const { return enabled_; }
  void count(const std::string& key) {
    if (!enabled_) return;
    for (auto& e : counts_) {
      if (e.first == key) {
        ++e.second;
        return;
      }
    }
    counts_.emplace_back(key, 1);
  }
  ~stats() {
    for (const auto& e : counts_) std::fprintf(stderr, "stats: %-48s %zu\n", e.first.c_str(), e.second);
  }

 private:
  stats() {
    const char* v = std::getenv("SMAX_FUZZ_STATS");
    enabled_ = v != nullptr && *v != '\0' && *v != '0';
  }
  bool enabled_ = false;
  std::vector<std::pair<std::string, std::size_t>> counts_;
};
inline bool stats_on() { return stats::get().enabled(); }
inline void count(const std::string& key) { stats::get().count(key); }

[[noreturn]] inline void fail(const std::string& what) {
  std::fprintf(stderr, "\n==== smax fuzz violation: %s\n", what.c_str());
  if (current_describer() != nullptr) current_describer()(stderr);
  std::fflush(stderr);
  std::abort();  // libFuzzer reports the deadly signal and saves the input
}

inline std::string hex(real v) {
  char text[64];
  std::snprintf(text, sizeof text, "%La (%.21Lg)", v, v);
  return text;
}
template <class T>
std::string hex_of(T v) {
  return hex(static_cast<real>(v));
}

// ---------------------------------------------------------------------------
// Input decoding

// Reads choices from the fuzzer's bytes. Once they run out it continues with a
// generator seeded from them, so that a short input still describes a large,
// varied case (and libFuzzer's mutations of the prefix stay meaningful).
class reader {
 public:
  reader(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {
    std::uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a of the whole input
    for (std::size_t i = 0; i < size; ++i) h = (h ^ data[i]) * 0x100000001b3ULL;
    state_ = h;
  }

  std::uint8_t u8() {
    if (pos_ < size_) return data_[pos_++];
    return static_cast<std::uint8_t>(next() >> 56);
  }
  std::uint16_t u16() { return static_cast<std::uint16_t>(u8() | (u8() << 8)); }
  std::uint32_t u32() { return static_cast<std::uint32_t>(u16()) | (static_cast<std::uint32_t>(u16()) << 16); }
  std::uint64_t u64() { return static_cast<std::uint64_t>(u32()) | (static_cast<std::uint64_t>(u32()) << 32); }
  // A choice among n (n <= 256).
  unsigned pick(unsigned n) { return u8() % n; }
  // True with probability about num / 256.
  bool chance(unsigned num) { return u8() < num; }
  bool exhausted() const { return pos_ >= size_; }

 private:
  std::uint64_t next() {  // splitmix64
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
  std::uint64_t state_ = 0;
};

// Which values a row may hold: everything, or narrower sets so that many rows
// exercise the accuracy bounds rather than the special-value rules.
enum class profile { any, masked, finite, mild };

inline profile decode_profile(reader& in) {
  switch (in.pick(8)) {
    case 0: return profile::any;
    case 1:
    case 2: return profile::masked;
    case 3:
    case 4: return profile::finite;
    default: return profile::mild;
  }
}

template <class T>
T from_bits(std::uint64_t bits) {
  T v;
  if constexpr (sizeof(T) == 4) {
    const auto b = static_cast<std::uint32_t>(bits);
    std::memcpy(&v, &b, sizeof v);
  } else {
    std::memcpy(&v, &bits, sizeof v);
  }
  return v;
}

// Values that sit on the edges the kernels care about.
template <class T>
T interesting(unsigned which) {
  using lim = std::numeric_limits<T>;
  const T table[] = {
      T(0),
      -T(0),
      T(1),
      T(-1),
      T(0.5),
      lim::denorm_min(),
      -lim::denorm_min(),
      lim::min(),
      -lim::min(),
      lim::min() - lim::denorm_min(),  // largest subnormal
      lim::max(),
      lim::lowest(),
      lim::epsilon(),
      T(1e4),
      T(-1e4),
      T(88.72283935546875),    // float exp overflow
      T(-87.33654022216797),   // float exp reaches FLT_MIN
      T(-103.97208404541016),  // float exp reaches 2^-150
      T(709.782712893384),     // double exp overflow
      T(-708.3964185322641),   // double exp reaches DBL_MIN
      T(-745.1332191019412),   // double exp reaches 2^-1075
      T(11356.5),              // long double exp overflow
      T(1e30),
      T(-1e30),
      T(3.14159265358979),
      T(16777217.0),  // 2^24 + 1: not a float
      T(0.6931471805599453),
      T(-100),
      T(40),
      std::nextafter(lim::max(), T(0)),
      std::nextafter(T(1), T(0)),
      std::nextafter(T(1), T(2)),
  };
  return table[which % (sizeof table / sizeof table[0])];
}

// One element value. `previous` enables ties and neighbours (repeats are where
// max-finding and compensated sums have their corner cases).
template <class T>
T decode_value(reader& in, profile p, T previous) {
  using lim = std::numeric_limits<T>;
  const unsigned selector = in.u8();
  const unsigned kind = selector & 15;
  const bool negative = (selector & 16) != 0;
  T v = T(0);
  switch (kind) {
    case 0: v = from_bits<T>(sizeof(T) == 4 ? in.u32() : in.u64()); break;
    case 1: v = interesting<T>(in.u8()); break;
    case 2: v = -lim::infinity(); break;
    case 3: {
      // Quiet and signalling NaNs, both signs, with payloads.
      const std::uint64_t payload = in.u8();
      if constexpr (sizeof(T) == 4) {
        v = from_bits<T>((negative ? 0xff800000u : 0x7f800000u) | 0x400000u >> (payload & 1) | (payload >> 1));
      } else {
        v = from_bits<T>((negative ? 0xfff0000000000000ULL : 0x7ff0000000000000ULL) |
                         (0x8000000000000ULL >> (payload & 1)) | (payload >> 1));
      }
      break;
    }
    case 4: v = lim::infinity(); break;
    case 5:
    case 6:
    case 7:
    case 8: v = static_cast<T>(static_cast<std::int8_t>(in.u8())) / T(4); break;
    case 9: v = static_cast<T>(static_cast<std::int16_t>(in.u16())) / T(256); break;
    case 10: v = T(1e4) + static_cast<T>(static_cast<std::int8_t>(in.u8())) / T(64); break;
    case 11: {
      // Near the largest finite value: a few ulps below it, or a power-of-two fraction.
      const unsigned a = in.u8();
      v = lim::max();
      if (a & 128) {
        for (unsigned k = a & 7; k > 0; --k) v = std::nextafter(v, T(0));
      } else {
        v = std::ldexp(v, -static_cast<int>(a & 63));
      }
      break;
    }
    case 12: {
      const std::uint64_t bits = sizeof(T) == 4 ? (in.u32() & 0x7fffffu) : (in.u64() & 0xfffffffffffffULL);
      v = from_bits<T>(bits);
      break;
    }
    case 13: {
      // Any binary exponent of the type, with a random significand.
      const int lo = lim::min_exponent - lim::digits, hi = lim::max_exponent - 1;
      const int e = lo + static_cast<int>(in.u16() % static_cast<unsigned>(hi - lo + 1));
      v = std::ldexp(T(1) + static_cast<T>(in.u8()) / T(256), e);
      break;
    }
    case 14: v = previous; break;
    case 15: v = std::nextafter(previous, (selector & 16) ? lim::infinity() : -lim::infinity()); break;
  }
  if (kind >= 5 && kind != 12 && kind != 14 && kind != 15 && negative) v = -v;
  // Narrow to the profile: map what it excludes onto mild values.
  const bool nan = std::isnan(v), pinf = v == lim::infinity(), ninf = v == -lim::infinity();
  const bool excluded = (p != profile::any && (nan || pinf)) ||
                        ((p == profile::finite || p == profile::mild) && ninf) ||
                        (p == profile::mild && std::fabs(v) > T(1e6));
  if (excluded) v = static_cast<T>(static_cast<std::int8_t>(selector)) / T(8);
  return v;
}

// A non-negative weight or probability-like value (mostly ordinary, sometimes
// zero, tiny or huge).
template <class T>
T decode_nonnegative(reader& in) {
  const unsigned s = in.u8();
  switch (s & 7) {
    case 0: return T(0);
    case 1: return std::fabs(interesting<T>(in.u8()));
    case 2: return std::ldexp(T(1) + static_cast<T>(in.u8()) / T(256), static_cast<int>(in.u8() % 64) - 32);
    default: return static_cast<T>(s >> 3) / T(8) + static_cast<T>(in.u8()) / T(2048);
  }
}

// ---------------------------------------------------------------------------
// Sizes

inline constexpr std::size_t kMaxElements = 4096;  // per ordinary matrix: one input well under a millisecond
inline constexpr std::size_t kMaxBytes = std::size_t{1} << 20;  // per buffer, padding included

// Byte size of `count` elements of `size` bytes, or false when it overflows.
inline bool bytes_of(std::size_t count, std::size_t size, std::size_t& bytes) {
  return !__builtin_mul_overflow(count, size, &bytes);
}

// Edge values for extents and strides: wrap-around, the limits smax checks,
// and sizes no allocation could have.
inline std::size_t huge_extent(reader& in, std::size_t elem) {
  const std::size_t max = std::numeric_limits<std::size_t>::max();
  const std::size_t pmax = static_cast<std::size_t>(std::numeric_limits<std::ptrdiff_t>::max());
  const std::size_t table[] = {max,
                               max / 2,
                               max / elem,
                               max / elem + 1,
                               pmax / elem,
                               pmax / elem + 1,
                               std::size_t{1} << 32,
                               (std::size_t{1} << 32) + 1,
                               std::size_t{1} << 62,
                               std::size_t{1} << 61,
                               (std::size_t{1} << 63) / elem,
                               max - 1};
  return table[in.pick(sizeof table / sizeof table[0])];
}

struct shape {
  std::size_t rows = 0, cols = 0;
};

// rows x cols with rows * cols <= kMaxElements, or (rarely) an edge case:
// empty, every tail length of the widest unrolled vector, rows longer than
// the 64 KiB chunk long rows are processed in, or an extent no buffer can
// have. `one_row` is for the vector forms.
inline shape decode_shape(reader& in, bool one_row, std::size_t elem) {
  shape s;
  const unsigned kind = in.pick(32);
  if (kind < 12) {
    s.rows = one_row ? 1 : 1 + in.pick(16);
    s.cols = in.u16() % (kMaxElements / s.rows + 1);
  } else if (kind < 20) {
    s.rows = one_row ? 1 : 1 + in.pick(4);
    s.cols = 1 + in.pick(4 * 16 + 3);
  } else if (kind < 24) {
    s.rows = one_row ? 1 : 1 + in.pick(64);
    s.cols = 1 + in.pick(8);
  } else if (kind < 25) {
    s.rows = one_row ? 1 : 1 + in.u16() % kMaxElements;
    s.cols = 1;
  } else if (kind < 27) {  // empty
    if (!one_row && in.pick(2) == 0) {
      s.rows = 0;
      s.cols = in.chance(32) ? huge_extent(in, elem) : in.pick(20);
    } else {
      s.rows = one_row ? 1 : in.pick(5);
      s.cols = 0;
    }
  } else if (kind < 30) {  // sizes no allocation can have, or single huge dimensions
    s.rows = one_row ? 1 : (in.pick(2) ? huge_extent(in, elem) : 1 + in.pick(4));
    s.cols = in.pick(3) ? huge_extent(in, elem) : in.pick(8);
  } else {  // one or two rows of one to three 64 KiB chunks, give or take a tail
    const std::size_t chunk = 65536 / elem;
    s.rows = one_row ? 1 : 1 + in.pick(2);
    s.cols = chunk * (1 + in.pick(3)) - 128 + in.pick(256);
  }
  return s;
}

// A row stride for `cols` columns: mostly dense or padded, sometimes too small,
// zero or huge.
inline std::size_t decode_stride(reader& in, std::size_t cols, std::size_t elem) {
  switch (in.pick(16)) {
    case 8:
    case 9:
    case 10: return cols + 1 + in.pick(4);
    case 11: return cols + in.pick(64);
    case 12: return cols == 0 ? 0 : cols - 1 - in.u16() % cols;
    case 13: return 0;
    case 14: return huge_extent(in, elem);
    case 15: return 2 * cols + 1;
    default: return cols;
  }
}

// ---------------------------------------------------------------------------
// Memory

// One argument buffer: a rows x cols view with a row stride (a vector is one
// row), of elements of `elem` bytes, placed at `offset` bytes into allocation
// `alloc`, or null.
struct buffer {
  const char* name = "";
  std::size_t elem = 0;
  std::size_t rows = 0, cols = 0, stride = 0;
  bool null = false;
  bool passed = true;    // false: the argument is absent (an optional nullptr)
  bool per_row = false;  // a vector of one value per matrix row
  std::size_t alloc = 0;
  std::size_t offset = 0;

  bool empty() const { return rows == 0 || cols == 0; }
  // Elements from the first to one past the last, or false when that overflows.
  bool span(std::size_t& elements) const {
    elements = 0;
    if (empty()) return true;
    std::size_t before_last = 0;
    return !__builtin_mul_overflow(rows - 1, stride, &before_last) &&
           !__builtin_add_overflow(before_last, cols, &elements);
  }
  // True when no buffer of this extent can exist: its size in bytes exceeds
  // PTRDIFF_MAX (pointer differences across it would overflow) or size_t.
  bool impossible() const {
    std::size_t elements = 0, bytes = 0;
    if (!span(elements) || !bytes_of(elements, elem, bytes)) return true;
    return bytes > static_cast<std::size_t>(std::numeric_limits<std::ptrdiff_t>::max());
  }
  std::size_t span_bytes() const {
    std::size_t elements = 0;
    (void)span(elements);
    return elements * elem;
  }
  // Possible but larger than the harness allocates: such a buffer may only
  // appear in calls that must fail for another reason.
  bool oversized() const { return passed && !null && !empty() && !impossible() && span_bytes() > kMaxBytes; }
  // Backed by memory: the bytes it touches are [offset, offset + span) of its
  // allocation. Rows that overlap themselves (stride < cols) never are: such a
  // view is invalid, and only ever gets a dummy pointer.
  bool live() const {
    return passed && !null && !empty() && stride >= cols && !impossible() && span_bytes() <= kMaxBytes;
  }
  std::size_t begin() const { return offset; }
  std::size_t end() const { return offset + span_bytes(); }
  std::size_t cell(std::size_t r, std::size_t c) const { return offset + (r * stride + c) * elem; }
};

// Whether two buffers share bytes, and whether they share cells (a view's
// padding may hold another view's elements: the ranges overlap, the cells not).
inline bool ranges_overlap(const buffer& a, const buffer& b) {
  if (!a.live() || !b.live() || a.alloc != b.alloc) return false;
  return a.begin() < b.end() && b.begin() < a.end();
}
inline bool cells_overlap(const buffer& a, const buffer& b) {
  if (!ranges_overlap(a, b)) return false;
  // Rows of b start at increasing addresses, so for each row of a only the
  // first row of b that ends after it starts can be the one that overlaps it.
  const std::size_t a_len = a.cols * a.elem, b_len = b.cols * b.elem, b_step = b.stride * b.elem;
  for (std::size_t r = 0; r < a.rows; ++r) {
    const std::size_t lo = a.cell(r, 0), hi = lo + a_len;
    const std::size_t first_end = b.offset + b_len;
    const std::size_t s = lo < first_end ? 0 : (lo - first_end) / b_step + 1;
    if (s < b.rows && b.cell(s, 0) < hi) return true;
  }
  return false;
}
// "The very same buffer": same address, same stride, same element type size.
inline bool same_buffer(const buffer& a, const buffer& b) {
  return a.live() && b.live() && a.alloc == b.alloc && a.offset == b.offset && a.stride == b.stride && a.elem == b.elem;
}

// The expected outcome of a call with respect to its arguments' validity.
enum class validity { valid, invalid, either };

inline void require_invalid(validity& v) { v = validity::invalid; }
inline void allow_either(validity& v) {
  if (v == validity::valid) v = validity::either;
}

// For an output that may be an input itself but must not otherwise overlap it:
// invalid when cells overlap without being the same buffer; either when only
// the ranges overlap (the contracts say "overlap" without saying whether a
// view's padding counts).
inline void check_in_place_or_disjoint(const buffer& out, const buffer& in, validity& v) {
  if (!ranges_overlap(out, in) || same_buffer(out, in)) return;
  if (cells_overlap(out, in)) {
    require_invalid(v);
  } else {
    allow_either(v);
  }
}
inline void check_disjoint(const buffer& out, const buffer& in, validity& v) {
  if (!ranges_overlap(out, in)) return;
  if (cells_overlap(out, in)) {
    require_invalid(v);
  } else {
    allow_either(v);
  }
}
// The checks every view gets: null data for a non-empty view, stride < cols,
// an impossible extent. An empty view's stride is left open by the contracts.
inline void check_view(const buffer& b, validity& v) {
  if (b.empty()) {
    if (b.stride < b.cols) allow_either(v);
    return;
  }
  if (b.null || b.stride < b.cols || b.impossible()) require_invalid(v);
}

// The allocations holding the buffers. Separate allocations are exactly as
// large as their buffers, so AddressSanitizer catches the first byte past one.
class memory {
 public:
  // Sizes the allocations from the buffers placed in them; `fill` is the
  // pattern (a NaN with an odd payload) padding and unused bytes start with.
  void build(const std::vector<buffer*>& buffers, std::size_t count, const unsigned char* fill, std::size_t fill_size) {
    sizes_.assign(count, 0);
    for (const buffer* b : buffers) {
      if (b->live()) sizes_[b->alloc] = std::max(sizes_[b->alloc], b->end());
    }
    storage_.clear();
    snapshot_.clear();
    for (std::size_t a = 0; a < count; ++a) {
      storage_.emplace_back(new unsigned char[sizes_[a] == 0 ? 1 : sizes_[a]]);
      for (std::size_t i = 0; i < sizes_[a]; ++i) storage_[a][i] = fill[i % fill_size];
    }
    dummy_.reset(new unsigned char[64]);
  }

  std::size_t bytes() const {
    std::size_t total = 0;
    for (std::size_t s : sizes_) total += s;
    return total;
  }

  // The pointer passed for a buffer. Views that cannot exist point at a small
  // dummy: smax must reject them before touching anything.
  template <class T>
  T* pointer(const buffer& b) {
    if (!b.passed || b.null) return nullptr;
    if (!b.live()) return reinterpret_cast<T*>(b.empty() && sizes_.size() > b.alloc ? base(b.alloc) : dummy_.get());
    return reinterpret_cast<T*>(base(b.alloc) + b.offset);
  }

  template <class T>
  void store(const buffer& b, std::size_t r, std::size_t c, T v) {
    std::memcpy(base(b.alloc) + b.cell(r, c), &v, sizeof v);
  }
  template <class T>
  T load(const buffer& b, std::size_t r, std::size_t c) const {
    T v;
    std::memcpy(&v, storage_[b.alloc].get() + b.cell(r, c), sizeof v);
    return v;
  }

  void take_snapshot() {
    snapshot_.clear();
    for (std::size_t a = 0; a < storage_.size(); ++a) {
      snapshot_.emplace_back(storage_[a].get(), storage_[a].get() + sizes_[a]);
    }
  }
  void restore() {
    for (std::size_t a = 0; a < storage_.size(); ++a) {
      if (sizes_[a] != 0) std::memcpy(storage_[a].get(), snapshot_[a].data(), sizes_[a]);
    }
  }
  std::vector<std::vector<unsigned char>> contents() const {
    std::vector<std::vector<unsigned char>> all;
    for (std::size_t a = 0; a < storage_.size(); ++a)
      all.emplace_back(storage_[a].get(), storage_[a].get() + sizes_[a]);
    return all;
  }
  // Inputs as they were before the call (the reference reads these).
  template <class T>
  T initial(const buffer& b, std::size_t r, std::size_t c) const {
    T v;
    std::memcpy(&v, snapshot_[b.alloc].data() + b.cell(r, c), sizeof v);
    return v;
  }

  // The first byte that differs from the snapshot outside the cells of
  // `outputs` (all bytes when it is empty); returns false when there is none.
  bool changed_outside(const std::vector<const buffer*>& outputs, std::string& where) const {
    for (std::size_t a = 0; a < storage_.size(); ++a) {
      std::vector<unsigned char> writable(sizes_[a], 0);
      for (const buffer* o : outputs) {
        if (!o->live() || o->alloc != a) continue;
        for (std::size_t r = 0; r < o->rows; ++r) {
          std::memset(writable.data() + o->cell(r, 0), 1, o->cols * o->elem);
        }
      }
      for (std::size_t i = 0; i < sizes_[a]; ++i) {
        if (!writable[i] && storage_[a][i] != snapshot_[a][i]) {
          where = "allocation " + std::to_string(a) + ", byte " + std::to_string(i);
          return true;
        }
      }
    }
    return false;
  }

 private:
  unsigned char* base(std::size_t a) { return storage_[a].get(); }

  std::vector<std::size_t> sizes_;
  std::vector<std::unique_ptr<unsigned char[]>> storage_;
  std::vector<std::vector<unsigned char>> snapshot_;
  std::unique_ptr<unsigned char[]> dummy_;
};

// A NaN with a payload no computation produces, as the fill pattern: a kernel
// that reads padding by mistake propagates it, and a stray write changes it.
template <class T>
std::vector<unsigned char> fill_pattern() {
  std::vector<unsigned char> bytes(sizeof(T));
  if constexpr (sizeof(T) == 4) {
    const std::uint32_t bits = 0x7fa5a5a5u;
    std::memcpy(bytes.data(), &bits, sizeof bits);
  } else {
    const std::uint64_t bits = 0x7ff5a5a5a5a5a5a5ULL;
    std::memcpy(bytes.data(), &bits, sizeof bits);
  }
  return bytes;
}

// How the buffers of one call are placed. Apart: each in its own allocation,
// or the very same pointer as an earlier buffer of the same element size (in
// place). Shared: all in one allocation at decoded offsets, which reaches
// every partial overlap and interleaving.
struct placement {
  bool shared = false;
};

// Decodes where `b` lives, given the buffers placed before it. `cursor` is the
// end of what has been laid out so far in the shared allocation.
inline void place(reader& in, const placement& p, std::size_t& allocations, buffer& b,
                  const std::vector<buffer*>& earlier, std::size_t& cursor) {
  const unsigned how = in.pick(32);
  if (how == 0) {
    b.null = true;
    return;
  }
  if (how >= 22) {  // the same pointer as an earlier buffer of the same element size
    std::vector<buffer*> candidates;
    for (buffer* e : earlier) {
      if (e->elem == b.elem && e->passed && !e->null) candidates.push_back(e);
    }
    if (!candidates.empty()) {
      const buffer* e = candidates[in.pick(static_cast<unsigned>(candidates.size()))];
      b.alloc = e->alloc;
      b.offset = e->offset;
      if (how < 29 && e->rows == b.rows && e->cols == b.cols) b.stride = e->stride;  // in place
      if (how == 31) {  // slid by a few elements: a partial overlap
        b.offset += b.elem * (1 + in.pick(8));
        if (b.live()) cursor = std::max(cursor, b.end());
      }
      return;
    }
  }
  if (!p.shared) {
    b.alloc = allocations++;
    b.offset = 0;
    return;
  }
  b.alloc = 0;
  if (how >= 18) {  // anywhere in what has been laid out so far
    const std::size_t slots = cursor / b.elem + 1;
    b.offset = (in.u16() % slots) * b.elem;
  } else {  // after everything so far, with a small gap
    b.offset = (cursor + b.elem - 1) / b.elem * b.elem + b.elem * in.pick(3);
  }
  if (b.live()) cursor = std::max(cursor, b.end());
}

// ---------------------------------------------------------------------------
// The caller's floating-point environment

// MXCSR values a caller might run with; exceptions stay masked (an unmasked
// one would trap in the harness itself, and smax masks them anyway).
inline unsigned decode_caller_env(reader& in) {
  static const unsigned table[] = {
      0x1f80,           // the default
      0x1f80 | 0x8040,  // flush-to-zero and denormals-are-zero
      0x1f80 | 0x6000,  // round toward zero
      0x1f80 | 0x2000,  // round down
      0x1f80 | 0x4000,  // round up
      0x1f80 | 0x003f,  // every sticky flag set
      0x1f80 | 0x8040 | 0x6000 | 0x0021,
  };
  if (!in.chance(48)) return table[0];
  return table[in.pick(sizeof table / sizeof table[0])];
}

#if defined(__x86_64__)
class caller_env {
 public:
  explicit caller_env(unsigned mxcsr) : harness_(_mm_getcsr()), caller_(mxcsr) { _mm_setcsr(caller_); }
  // The state the call left behind; restores the harness's own.
  unsigned finish() {
    const unsigned after = _mm_getcsr();
    _mm_setcsr(harness_);
    done_ = true;
    return after;
  }
  ~caller_env() {
    if (!done_) _mm_setcsr(harness_);
  }
  caller_env(const caller_env&) = delete;
  caller_env& operator=(const caller_env&) = delete;

 private:
  unsigned harness_, caller_;
  bool done_ = false;
};
#else
class caller_env {
 public:
  explicit caller_env(unsigned mxcsr) : caller_(mxcsr) {}
  unsigned finish() { return caller_; }

 private:
  unsigned caller_;
};
#endif

// ---------------------------------------------------------------------------
// Expectations

// What one output element must be.
//  nan:     NaN.
//  exact:   equal to `value` (zeros of either sign match).
//  bound:   within `tol` of `value`; an exact value beyond the type's range may
//           round to the infinity of its sign.
//  either_nan_or_bound: NaN, or as bound (the contract allows both).
//  any:     unspecified; checked only for agreement across ISAs (NaN or not).
struct expect {
  enum kind { nan, exact, bound, either_nan_or_bound, any } k = any;
  real value = 0;
  real tol = 0;
  // Whether every ISA must agree with the scalar path here. Not where the
  // result depends on the order of a sum whose partial sums overflow (an
  // infinity, or inf - inf, in one order and not in another).
  bool agree = true;
};

inline expect expect_nan() { return {expect::nan, 0, 0, true}; }
inline expect expect_exact(real v) { return {expect::exact, v, 0, true}; }
inline expect expect_any() { return {expect::any, 0, 0, true}; }
// Unspecified, and free to differ between ISAs.
inline expect expect_unordered() { return {expect::any, 0, 0, false}; }

template <class T>
bool within(T got, real exact, real tol) {
  if (std::isnan(exact)) return std::isnan(got);
  if (std::isnan(got)) return false;
  if (std::isinf(exact)) return static_cast<real>(got) == exact;
  if (std::isinf(got)) {
    // Correct rounding of a value at or past the largest finite one.
    const real max = static_cast<real>(std::numeric_limits<T>::max());
    const real edge = max + smax_test::ulp_at<T>(max) / 2;
    return (got > 0) == (exact > 0) && std::fabs(exact) + tol >= edge;
  }
  return std::fabs(static_cast<real>(got) - exact) <= tol;
}

template <class T>
bool meets(T got, const expect& e) {
  switch (e.k) {
    case expect::nan: return std::isnan(got);
    case expect::exact: return static_cast<real>(got) == e.value;
    case expect::bound: return within(got, e.value, e.tol);
    case expect::either_nan_or_bound: return std::isnan(got) || within(got, e.value, e.tol);
    case expect::any: return true;
  }
  return false;
}

inline const char* kind_name(const expect& e) {
  switch (e.k) {
    case expect::nan: return "nan";
    case expect::exact: return "exact";
    case expect::bound: return "bound";
    case expect::either_nan_or_bound: return "nan-or-bound";
    case expect::any: return "any";
  }
  return "?";
}

inline std::string describe(const expect& e) {
  switch (e.k) {
    case expect::nan: return "NaN";
    case expect::exact: return "exactly " + hex(e.value);
    case expect::bound: return hex(e.value) + " +- " + hex(e.tol);
    case expect::either_nan_or_bound: return "NaN or " + hex(e.value) + " +- " + hex(e.tol);
    case expect::any: return "anything";
  }
  return "?";
}

// The documented accuracy measures (ulp.hpp's, as tolerances).
template <class T>
real ulp_tol(real exact, double ulps) {
  return static_cast<real>(ulps) * smax_test::ulp_at<T>(exact);
}
template <class T>
real log_tol(real exact, double ulps) {
  const real eps = static_cast<real>(std::numeric_limits<T>::epsilon());
  return static_cast<real>(ulps) * std::fmax(smax_test::ulp_at<T>(exact), eps);
}
template <class T>
expect expect_bound(real exact, real tol) {
  if (std::isnan(exact)) return expect_nan();
  return {expect::bound, exact, tol * tolerance_scale(), true};
}

// One output buffer's results on one ISA, in row-major order of its cells.
template <class T>
struct output {
  const buffer* where = nullptr;
  std::vector<T> values;
};

template <class T>
std::vector<T> read_cells(const memory& mem, const buffer& b) {
  std::vector<T> values;
  if (!b.live()) return values;
  values.reserve(b.rows * b.cols);
  for (std::size_t r = 0; r < b.rows; ++r) {
    for (std::size_t c = 0; c < b.cols; ++c) values.push_back(mem.load<T>(b, r, c));
  }
  return values;
}

// Checks one ISA's values against the expectations of their buffer.
template <class T>
void check_values(const char* isa, const std::string& what, const buffer& b, const std::vector<T>& got,
                  const std::vector<expect>& want) {
  if (got.size() != want.size()) {
    fail(what + ": harness error: " + std::to_string(got.size()) + " values for " + std::to_string(want.size()) +
         " expectations");
  }
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (!meets(got[i], want[i])) {
      const std::size_t r = b.cols ? i / b.cols : 0, c = b.cols ? i % b.cols : 0;
      focus_row() = b.per_row ? c : r;
      fail(what + " on " + isa + ": " + b.name + "[" + std::to_string(r) + "][" + std::to_string(c) +
           "] = " + hex_of(got[i]) + ", expected " + describe(want[i]));
    }
  }
}

// Each ISA against the scalar path: within twice the element's bound (each may
// be off by the bound in opposite directions), and NaN exactly where it is NaN.
template <class T>
void check_agreement(const char* isa, const std::string& what, const buffer& b, const std::vector<T>& got,
                     const std::vector<T>& scalar, const std::vector<expect>& want) {
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (!want[i].agree) continue;
    const T a = got[i], s = scalar[i];
    bool ok = std::isnan(a) == std::isnan(s);
    if (ok && !std::isnan(a) && (want[i].k == expect::bound || want[i].k == expect::either_nan_or_bound)) {
      ok = within(a, static_cast<real>(s), 2 * want[i].tol) || within(s, static_cast<real>(a), 2 * want[i].tol);
    }
    if (!ok) {
      const std::size_t r = b.cols ? i / b.cols : 0, c = b.cols ? i % b.cols : 0;
      focus_row() = b.per_row ? c : r;
      fail(what + ": " + isa + " and scalar disagree at " + b.name + "[" + std::to_string(r) + "][" +
           std::to_string(c) + "]: " + hex_of(a) + " vs " + hex_of(s) + " (expected " + describe(want[i]) + ")");
    }
  }
}

// Runs `call` (which makes one smax call and throws what smax throws) under
// the caller's environment; returns true if it threw smax::error. Anything
// else thrown is a violation, as is an environment not restored.
template <class Call>
bool run_call(const std::string& what, const char* isa, unsigned mxcsr, Call&& call) {
  bool threw = false;
  unsigned after = mxcsr;
  {
    caller_env env(mxcsr);
    try {
      call();
    } catch (const smax::error& e) {
      threw = true;
      after = env.finish();
      const std::string message = e.what();
      if (message.rfind("smax::", 0) != 0)
        fail(what + " on " + isa + ": error message without the function: " + message);
      if (verbose()) std::fprintf(stderr, "  %s: smax::error: %s\n", isa, message.c_str());
    } catch (const std::exception& e) {
      after = env.finish();
      fail(what + " on " + isa + ": threw something other than smax::error: " + e.what());
    } catch (...) {
      after = env.finish();
      fail(what + " on " + isa + ": threw something other than smax::error");
    }
    if (!threw) after = env.finish();
  }
#if defined(__x86_64__)
  if (after != mxcsr) {
    char text[96];
    std::snprintf(text, sizeof text, ": the caller's MXCSR 0x%04x came back as 0x%04x", mxcsr, after);
    fail(what + " on " + isa + text);
  }
#else
  (void)after;
#endif
  return threw;
}

// Whether a row of T (as long double) is one the reference handles, and its
// special kind otherwise.
enum class row_kind { regular, has_nan, has_pos_inf, all_neg_inf, empty };

template <class T>
row_kind classify(const std::vector<T>& row) {
  if (row.empty()) return row_kind::empty;
  bool nan = false, pinf = false, finite = false;
  for (T v : row) {
    nan = nan || std::isnan(v);
    pinf = pinf || v == std::numeric_limits<T>::infinity();
    finite = finite || std::isfinite(v);
  }
  if (nan) return row_kind::has_nan;
  if (pinf) return row_kind::has_pos_inf;
  if (!finite) return row_kind::all_neg_inf;
  return row_kind::regular;
}

template <class T>
const char* type_name() {
  return sizeof(T) == 4 ? "float" : "double";
}

inline const char* validity_name(validity v) {
  switch (v) {
    case validity::valid: return "valid";
    case validity::invalid: return "invalid";
    case validity::either: return "either";
  }
  return "?";
}

// Prints a buffer's placement and, for small ones, its initial contents.
template <class T>
void print_buffer(std::FILE* out, const memory& mem, const buffer& b, bool values = true) {
  std::fprintf(out, "  %-22s %s%zu x %zu, stride %zu, elem %zu, alloc %zu +%zu bytes%s\n", b.name,
               b.passed ? "" : "(absent) ", b.rows, b.cols, b.stride, b.elem, b.alloc, b.offset,
               b.null ? ", NULL" : (b.impossible() ? ", impossible extent" : ""));
  if (!values || !b.live()) return;
  // Small buffers in full; large ones only at the row of the violation (a
  // per-row vector: the element of that row).
  std::size_t first = 0, last = b.rows, from = 0, to = b.cols;
  if (b.rows * b.cols > 256) {
    if (b.per_row && focus_row() < b.cols) {
      from = focus_row();
      to = from + 1;
    } else if (focus_row() < b.rows) {
      first = focus_row();
      last = first + 1;
    } else {
      return;
    }
  }
  for (std::size_t r = first; r < last; ++r) {
    std::fprintf(out, "    [%zu]", b.per_row && from > 0 ? from : r);
    for (std::size_t c = from; c < to; ++c) {
      if (b.elem == sizeof(T)) {
        const T v = mem.initial<T>(b, r, c);
        std::fprintf(out, " %a", static_cast<double>(v));
      }
    }
    std::fprintf(out, "\n");
  }
}

// ---------------------------------------------------------------------------
// Options shared by the operation families

// Thread counts: mostly 1; 0 (left open by the contracts), a few, and more
// than there are rows.
inline unsigned decode_threads(reader& in) {
  static const unsigned table[] = {2, 3, 4, 8, 0, 64};
  if (!in.chance(64)) return 1;
  return table[in.pick(sizeof table / sizeof table[0])];
}

// The last enumerator of smax::softmax_algorithm: which values are valid, and
// which the decoder draws, follow from it alone.
inline constexpr int kLastAlgorithm = static_cast<int>(smax::softmax_algorithm::two_pass_exponent);

// Each explicit algorithm 3 times in 16, one value past the last enumerator
// once, automatic otherwise.
inline smax::softmax_algorithm decode_algorithm(reader& in) {
  const int k = static_cast<int>(in.pick(16));
  if (k < 3 * kLastAlgorithm) return static_cast<smax::softmax_algorithm>(1 + k / 3);
  if (k == 3 * kLastAlgorithm) {
    return static_cast<smax::softmax_algorithm>(kLastAlgorithm + 1 + static_cast<int>(in.pick(100)));
  }
  return smax::softmax_algorithm::automatic;
}

inline bool valid_algorithm(smax::softmax_algorithm a) {
  return static_cast<int>(a) >= 0 && static_cast<int>(a) <= kLastAlgorithm;
}

// ---------------------------------------------------------------------------
// The per-ISA loop every target runs

// One output of a call: the buffer it is written to (or a 1 x 1 stand-in for
// a returned value) and what each of its elements must be.
template <class T>
struct checked_output {
  const buffer* where = nullptr;
  std::vector<expect> want;
};

// Runs the call on every available ISA from the same initial memory:
//  - invalid arguments: smax::error on every ISA, nothing written;
//  - valid ones: no exception, nothing written outside `written`, each output
//    as expected and within twice its bound of the scalar path's;
//  - either: the same outcome on every ISA, and as valid when it returns.
// With `threads` != 1 every successful call is repeated with one thread, and
// the two must leave memory (and the returned values) bitwise the same.
// `call(threads)` makes the smax call; `collect()` reads the outputs' values
// in the order of `outputs`.
template <class T, class Call, class Collect>
void run_on_every_isa(const std::string& what, validity expected, unsigned mxcsr, memory& mem,
                      const std::vector<const buffer*>& written, unsigned threads, Call&& call, Collect&& collect,
                      std::vector<checked_output<T>>& outputs) {
  std::vector<std::vector<T>> scalar;
  int outcome = -1;  // 1: threw, 0: returned
  for (smax::isa which : smax::available_isas()) {
    const char* isa = smax::isa_name(which);
    mem.restore();
    bool threw = false;
    {
      smax::scoped_isa use(which);
      threw = run_call(what, isa, mxcsr, [&] { call(threads); });
    }
    if (outcome >= 0 && threw != (outcome == 1)) {
      fail(what + ": " + isa + (threw ? " threw" : " did not throw") + " unlike the ISAs before it");
    }
    outcome = threw ? 1 : 0;
    if (threw && expected == validity::valid) fail(what + " on " + isa + ": threw for valid arguments");
    if (!threw && expected == validity::invalid) fail(what + " on " + isa + ": invalid arguments, but no smax::error");
    std::string where;
    if (threw) {
      if (mem.changed_outside({}, where)) fail(what + " on " + isa + ": threw after writing (" + where + ")");
      continue;
    }
    if (mem.changed_outside(written, where)) fail(what + " on " + isa + ": wrote outside its outputs (" + where + ")");
    const std::vector<std::vector<T>> values = collect();
    for (std::size_t o = 0; o < outputs.size(); ++o) {
      check_values(isa, what, *outputs[o].where, values[o], outputs[o].want);
    }
    if (which == smax::isa::scalar) {
      scalar = values;
    } else {
      for (std::size_t o = 0; o < outputs.size(); ++o) {
        check_agreement(isa, what, *outputs[o].where, values[o], scalar[o], outputs[o].want);
      }
    }
    if (threads != 1) {
      const std::vector<std::vector<unsigned char>> many = mem.contents();
      mem.restore();
      {
        smax::scoped_isa use(which);
        if (run_call(what, isa, mxcsr, [&] { call(1u); })) fail(what + " on " + isa + ": threw with one thread");
      }
      const std::vector<std::vector<T>> one = collect();
      if (mem.contents() != many) {
        fail(what + " on " + isa + ": memory differs between " + std::to_string(threads) + " threads and one");
      }
      for (std::size_t o = 0; o < outputs.size(); ++o) {
        if (one[o].size() != values[o].size() ||
            (!one[o].empty() && std::memcmp(one[o].data(), values[o].data(), one[o].size() * sizeof(T)) != 0)) {
          fail(what + " on " + isa + ": " + outputs[o].where->name + " differs between " + std::to_string(threads) +
               " threads and one");
        }
      }
    }
  }
}

}  // namespace smax_fuzz
