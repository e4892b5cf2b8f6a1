// Test runner: reports which ISA paths run, enforces SMAX_REQUIRE_ISAS, runs the
// Catch2 session, then prints the worst error measured per operation and path.
#define CATCH_CONFIG_RUNNER
#include <cstdio>
#include <iomanip>
#include <set>
#include <sstream>

#include "support/catch.hpp"
#include "support/isas.hpp"

namespace smax_test {

std::string error_record::table() const {
  std::ostringstream out;
  std::set<std::pair<std::string, std::string>> groups;
  std::vector<std::string> families;
  for (const auto& entry : worst_) {
    groups.insert({std::get<0>(entry.first), std::get<1>(entry.first)});
    const std::string& fam = std::get<3>(entry.first);
    if (std::find(families.begin(), families.end(), fam) == families.end()) families.push_back(fam);
  }
  for (const auto& [op, type] : groups) {
    out << "\n" << op << " (" << type << "), worst error in ulps (log domain: ulps above 1, eps below):\n";
    out << std::setw(8) << "isa";
    for (const auto& fam : families) out << std::setw(12) << fam;
    out << "\n";
    for (smax::isa which : isas_under_test()) {
      out << std::setw(8) << smax::isa_name(which);
      for (const auto& fam : families) {
        auto it = worst_.find({op, type, smax::isa_name(which), fam});
        if (it == worst_.end()) {
          out << std::setw(12) << "-";
        } else {
          out << std::setw(12) << std::fixed << std::setprecision(3) << it->second;
        }
      }
      out << "\n";
    }
  }
  return out.str();
}

}  // namespace smax_test

namespace {

// Lists every ISA smax knows with its status here; returns false when one named
// in SMAX_REQUIRE_ISAS cannot run.
bool report_isas() {
  using smax_test::isas_under_test;
  std::printf("smax ISA paths:\n");
  for (smax::isa which : smax::detail::kAllIsas) {
    const char* status = "runs";
    if (!smax::detail::compiled(which)) {
      status = "could not run: not compiled for this architecture";
    } else if (!smax::detail::cpu_supports(which)) {
      status = "could not run: this CPU/OS does not support it";
    }
    bool tested = false;
    for (smax::isa t : isas_under_test()) tested = tested || t == which;
    std::printf("  %-7s %s%s\n", smax::isa_name(which), status,
                tested ? ", tested in this run" : (smax::detail::runs_here(which) ? ", not selected" : ""));
  }
  bool ok = true;
  for (const std::string& name : smax_test::split_list(std::getenv("SMAX_REQUIRE_ISAS"))) {
    bool found = false;
    for (smax::isa which : smax::available_isas()) found = found || name == smax::isa_name(which);
    if (!found) {
      std::printf("SMAX_REQUIRE_ISAS names %s, which cannot run here\n", name.c_str());
      ok = false;
    }
  }
  std::fflush(stdout);
  return ok;
}

// CTest's SKIP_RETURN_CODE: the ISA selected by SMAX_TEST_ISAS cannot run here.
constexpr int kSkipped = 77;

}  // namespace

int main(int argc, char* argv[]) {
  if (!report_isas()) return 1;
  if (smax_test::isas_under_test().empty()) {
    std::printf("skipped: no ISA in SMAX_TEST_ISAS=%s can run here\n", std::getenv("SMAX_TEST_ISAS"));
    return kSkipped;
  }
  const int failures = Catch::Session().run(argc, argv);
  std::printf("%s\n", smax_test::error_record::instance().table().c_str());
  return failures == 0 ? 0 : 1;
}
