// Which ISA paths the tests exercise, and the record of worst errors seen.
#pragma once

#include <smax/smax.hpp>

#include <cstdlib>
#include <map>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

namespace smax_test {

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
