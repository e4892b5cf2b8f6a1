// Links a TU built without -m flags and one built with -mavx2 -mfma, both of
// which include smax, and checks that every smax call gives bitwise the same
// result from either. smax's inline functions exist once per TU and the linker
// keeps one copy of each, so a header that let the includer's flags change what
// a kernel computes would make results depend on which copy won. Prints a
// digest per ISA so that builds linking the TUs in different orders can be compared
// (see link_order.cmake).
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "two_tus.hpp"

namespace {

constexpr int kSkipped = 77;  // SKIP_RETURN_CODE in CMakeLists.txt

// One FNV-1a digest of labels and bits per ISA (the first word of a label),
// printed as "digest <isa> <hex>" lines for link_order.cmake to compare.
void print_digests(const std::vector<two_tus::record>& records) {
  std::string isa;
  std::uint64_t h = 0;
  auto flush = [&] {
    if (!isa.empty()) std::printf("digest %s %016llx\n", isa.c_str(), static_cast<unsigned long long>(h));
  };
  for (const two_tus::record& r : records) {
    const std::string first = r.label.substr(0, r.label.find(' '));
    if (first != isa) {
      flush();
      isa = first;
      h = 0xcbf29ce484222325ULL;
    }
    auto mix = [&h](std::uint64_t byte) { h = (h ^ byte) * 0x100000001b3ULL; };
    for (char c : r.label) mix(static_cast<unsigned char>(c));
    for (std::uint64_t b : r.bits) {
      for (int shift = 0; shift < 64; shift += 8) mix((b >> shift) & 0xff);
    }
  }
  flush();
}

#if !defined(TWO_TUS_PLAIN_ONLY)
int compare(const std::vector<two_tus::record>& plain, const std::vector<two_tus::record>& avx2) {
  if (plain.size() != avx2.size()) {
    std::printf("FAIL: %zu calls from tu_plain, %zu from tu_avx2\n", plain.size(), avx2.size());
    return 1;
  }
  int mismatches = 0;
  for (std::size_t i = 0; i < plain.size(); ++i) {
    const two_tus::record &p = plain[i], &a = avx2[i];
    if (p.label != a.label || p.bits.size() != a.bits.size()) {
      std::printf("FAIL: call %zu is '%s' in tu_plain, '%s' in tu_avx2\n", i, p.label.c_str(), a.label.c_str());
      return 1;
    }
    for (std::size_t j = 0; j < p.bits.size(); ++j) {
      if (p.bits[j] == a.bits[j]) continue;
      if (++mismatches <= 10) {
        std::printf("FAIL: %s, output %zu: bits %016llx from tu_plain, %016llx from tu_avx2\n", p.label.c_str(), j,
                    static_cast<unsigned long long>(p.bits[j]), static_cast<unsigned long long>(a.bits[j]));
      }
    }
  }
  if (mismatches > 0) std::printf("FAIL: %d outputs differ between the two TUs\n", mismatches);
  return mismatches == 0 ? 0 : 1;
}
#endif

}  // namespace

int main() {
  // tu_avx2's own code may use AVX2 anywhere; calling into it on a CPU without
  // AVX2 would test nothing but SIGILL.
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) {
    std::printf("SKIPPED: this CPU lacks AVX2 or FMA, which tu_avx2.cpp is compiled for\n");
    return kSkipped;
  }
  const std::vector<two_tus::record> plain = two_tus::sweep_plain();
#if defined(TWO_TUS_PLAIN_ONLY)
  print_digests(plain);
  return 0;
#else
  const std::vector<two_tus::record> avx2 = two_tus::sweep_avx2();
  const int status = compare(plain, avx2);
  print_digests(plain);
  if (status == 0) std::printf("OK: both translation units give bitwise identical results\n");
  return status;
#endif
}
