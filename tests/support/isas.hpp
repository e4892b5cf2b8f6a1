// Which ISA paths the tests exercise, and the record of worst errors seen.
#pragma once

#include <smax/smax.hpp>

#include <cstdlib>
#include <map>
#include <sstream>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

namespace smax_test {

// SMAX_TEST_QUICK=1 (set by the aarch64 preset, whose tests run under qemu
// with long double emulated in software) keeps every tail length and edge
// case but drops the longest rows and largest class counts, where the
// reference dominates the run time.
inline bool quick_run() {
  static const bool quick = [] {
    const char* v = std::getenv("SMAX_TEST_QUICK");
    return v != nullptr && *v != '\0' && *v != '0';
  }();
  return quick;
}

// Longest row that still ends in every possible tail of the widest vector
// (16 floats on AVX-512) unrolled four times.
constexpr std::size_t kMaxTail = 4 * 16 + 3;

template <class T>
const char* type_name() {
  if constexpr (std::is_same_v<T, float>) return "float";
  if constexpr (std::is_same_v<T, double>) return "double";
  if constexpr (std::is_same_v<T, smax::bfloat16>) return "bfloat16";
  if constexpr (std::is_same_v<T, smax::half>) return "half";
  return "?";
}

inline std::vector<std::string> split_list(const char* text) {
  std::vector<std::string> items;
  if (text == nullptr) return items;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) {
    if (!item.empty()) items.push_back(item);
  }
  return items;
}

// Every ISA this build and CPU can run, narrowed to SMAX_TEST_ISAS (a comma
// list) when that is set, so that CTest can run one process per path.
inline const std::vector<smax::isa>& isas_under_test() {
  static const std::vector<smax::isa> isas = [] {
    std::vector<smax::isa> chosen;
    const std::vector<std::string> filter = split_list(std::getenv("SMAX_TEST_ISAS"));
    for (smax::isa which : smax::available_isas()) {
      bool wanted = filter.empty();
      for (const std::string& name : filter) wanted = wanted || name == smax::isa_name(which);
      if (wanted) chosen.push_back(which);
    }
    return chosen;
  }();
  return isas;
}

// Worst error per (operation, type, ISA, input family), printed after the run
// as the accuracy table.
class error_record {
 public:
  static error_record& instance() {
    static error_record record;
    return record;
  }
  void note(const std::string& op, const std::string& type, smax::isa which, const std::string& family, double error) {
    double& worst = worst_[{op, type, smax::isa_name(which), family}];
    if (error > worst) worst = error;
  }
  std::string table() const;

 private:
  std::map<std::tuple<std::string, std::string, std::string, std::string>, double> worst_;
};

}  // namespace smax_test
