// smax_bench: smax's ops on every ISA this CPU runs, next to the peers found at
// build time, on the same inputs and buffers. Besides Google Benchmark's own
// flags it reads:
//   SMAX_BENCH_CONTENDERS    comma-separated name prefixes to register (e.g.
//                            "smax,memcpy"); default all
//   SMAX_BENCH_ROTATE_BYTES  memory the rotating buffers span at least (default
//                            4 x L2; 0 keeps one buffer, so small shapes run
//                            from L1/L2)
// bench/report.py turns the JSON output into tables and a plot.
#include <sched.h>

#include <smax/smax.hpp>
#include <string>

#include "common.hpp"

namespace {

std::string compiler() {
#if defined(__clang__)
  return std::string("clang ") + __clang_version__;
#elif defined(__GNUC__)
  return std::string("gcc ") + __VERSION__;
#else
  return "unknown";
#endif
}

std::string isa_list() {
  std::string list;
  for (smax::isa which : smax::available_isas()) list += (list.empty() ? "" : ",") + std::string(smax::isa_name(which));
  return list;
}

std::string pinned_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return "unknown";
  return std::to_string(CPU_COUNT(&set));
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

  std::string peers;
  // Unused when no peer is compiled in (SMAX_BENCH_PEERS=OFF).
  [[maybe_unused]] auto found = [&peers](const char* name) { peers += (peers.empty() ? "" : ",") + std::string(name); };
  smax_bench::register_smax();
  smax_bench::register_naive();
  smax_bench::register_memcpy();
#ifdef SMAX_BENCH_HAVE_ONEDNN
  smax_bench::register_onednn();
  found("onednn");
#endif
#ifdef SMAX_BENCH_HAVE_XNNPACK
  smax_bench::register_xnnpack();
  found("xnnpack");
#endif
#ifdef SMAX_BENCH_HAVE_TORCH
  smax_bench::register_torch();
  found("torch");
#endif
#ifdef SMAX_BENCH_HAVE_EIGEN
  smax_bench::register_eigen();
  found("eigen");
#endif
  smax_bench::register_queued();

  smax_bench::add_context("smax_version", std::to_string(SMAX_VERSION_MAJOR) + "." +
                                              std::to_string(SMAX_VERSION_MINOR) + "." +
                                              std::to_string(SMAX_VERSION_PATCH));
  smax_bench::add_context("smax_isas", isa_list());
  smax_bench::add_context("compiler", compiler());
#if defined(__OPTIMIZE__) && defined(NDEBUG)
  smax_bench::add_context("smax_bench_build", "optimized");
#else
  smax_bench::add_context("smax_bench_build", "not an optimized release build: figures are meaningless");
#endif
  smax_bench::add_context("peers_built", peers.empty() ? "none" : peers);
  smax_bench::add_context("rotation_bytes", std::to_string(smax_bench::rotation_bytes()));
  smax_bench::add_context("pinned_cpus", pinned_cpus());

  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
