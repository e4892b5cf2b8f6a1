#!/usr/bin/env bash
# Builds and runs the benchmarks, then writes the report:
#   bash scripts/bench.sh [--quick] [smax_bench arguments...]
#
# On Debian/Ubuntu as root it first installs what is missing: CMake, g++,
# Google Benchmark, the peer libraries timed next to smax (oneDNN, XNNPACK,
# libtorch, Eigen) and gnuplot. Then it configures a Release build in
# build/bench, runs smax_bench pinned to one CPU, runs libtorch's entries a
# second time with ATEN_CPU_CAPABILITY=avx512 when the CPU has AVX-512 (Debian's
# libtorch runs its AVX2 kernels otherwise), and calls bench/report.py.
#
# Arguments go to smax_bench, e.g. --benchmark_filter='^softmax/f32/' for a
# subset, or --benchmark_filter='^(cross_entropy|[a-z_]*backward)' for the
# training ops alone. A run with arguments, or a quick one, reports into the
# build directory's results/; a full run into bench/results (latest.md,
# latest.png for the forward ops, latest-training.png for cross-entropy and the
# backward passes).
#
# Environment:
#   SMAX_BENCH_QUICK=1         same as --quick: one repetition, short runs
#   SMAX_BENCH_REPETITIONS     repetitions per entry (default 5; quick 1)
#   SMAX_BENCH_MIN_TIME        seconds per repetition (default 0.2; quick 0.05)
#   SMAX_BENCH_CPU             the CPU to pin to (default: the last one)
#   SMAX_BENCH_NO_PEERS=1      neither install nor build the peer libraries
#   SMAX_BENCH_REPORT_DIR      where latest.md and the plots go
#   SMAX_BENCH_BUILD_DIR       where to build and keep raw results (default build/bench)
#   SMAX_BENCH_JOBS            build parallelism (default 2)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
start=$SECONDS

quick="${SMAX_BENCH_QUICK:-0}"
args=()
for a in "$@"; do
  if [[ $a == --quick ]]; then quick=1; else args+=("$a"); fi
done

# The command line as typed, for the report.
command_text="bash scripts/bench.sh"
for v in SMAX_BENCH_QUICK SMAX_BENCH_REPETITIONS SMAX_BENCH_MIN_TIME SMAX_BENCH_CPU SMAX_BENCH_NO_PEERS; do
  if [[ -n ${!v:-} ]]; then command_text="$v=${!v} $command_text"; fi
done
for a in "$@"; do command_text+=" $(printf '%q' "$a")"; done

# ---------------------------------------------------------------- packages
installed() {
  # dpkg -s also succeeds for removed packages whose configuration remains.
  dpkg -s "$1" 2>/dev/null | grep -q '^Status: install ok installed'
}

required=(cmake make g++ libbenchmark-dev python3)
# ocl-icd-opencl-dev: only recommended by libdnnl-dev, but its CMake config needs OpenCL.
peers=(libdnnl-dev ocl-icd-opencl-dev libxnnpack-dev libpthreadpool-dev libtorch-dev libeigen3-dev)
if [[ ${SMAX_BENCH_NO_PEERS:-0} == 1 ]]; then peers=(); fi

if command -v dpkg >/dev/null 2>&1; then
  missing=()
  for p in "${required[@]}" "${peers[@]}"; do
    installed "$p" || missing+=("$p")
  done
  # Any of gnuplot-nox, gnuplot-qt or gnuplot-x11 will do.
  command -v gnuplot >/dev/null 2>&1 || missing+=(gnuplot-nox)
  if ((${#missing[@]} > 0)); then
    if [[ $(id -u) -eq 0 ]]; then
      echo "== installing ${missing[*]}"
      export DEBIAN_FRONTEND=noninteractive
      # The package lists are refreshed only when the install cannot proceed
      # without them (a fresh image has none).
      if ! apt-get install -y -qq --no-install-recommends "${missing[@]}"; then
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}"
      fi
    else
      echo "scripts/bench.sh: missing packages: ${missing[*]}" >&2
      echo "  install them as root: apt-get update && apt-get install -y ${missing[*]}" >&2
      for p in "${required[@]}"; do
        installed "$p" || { echo "scripts/bench.sh: $p is required" >&2; exit 1; }
      done
      echo "scripts/bench.sh: going on without the missing peers" >&2
    fi
  fi
else
  echo "scripts/bench.sh: not Debian-based; make sure CMake, a C++17 compiler, Google Benchmark and python3 are" \
       "installed (peers and gnuplot optional)" >&2
fi

# ---------------------------------------------------------------- build
build="${SMAX_BENCH_BUILD_DIR:-$root/build/bench}"
peer_option=ON
if [[ ${SMAX_BENCH_NO_PEERS:-0} == 1 ]]; then peer_option=OFF; fi
echo "== configuring $build"
mkdir -p "$build"
if ! cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DSMAX_BUILD_BENCHMARKS=ON -DSMAX_BUILD_TESTS=OFF \
  -DSMAX_BUILD_EXAMPLES=OFF -DCMAKE_REQUIRE_FIND_PACKAGE_benchmark=ON -DSMAX_BENCH_PEERS="$peer_option" \
  >"$build/configure.log" 2>&1; then
  cat "$build/configure.log" >&2
  exit 1
fi
grep -h "smax_bench peers" "$build/configure.log" || true
echo "== building smax_bench"
cmake --build "$build" -j "${SMAX_BENCH_JOBS:-2}" --target smax_bench
binary="$build/bench/smax_bench"

# ---------------------------------------------------------------- run
if [[ $quick == 1 ]]; then
  repetitions="${SMAX_BENCH_REPETITIONS:-1}"
  min_time="${SMAX_BENCH_MIN_TIME:-0.05}"
else
  repetitions="${SMAX_BENCH_REPETITIONS:-5}"
  min_time="${SMAX_BENCH_MIN_TIME:-0.2}"
fi
cpu="${SMAX_BENCH_CPU:-$(($(nproc) - 1))}"
pin=()
if command -v taskset >/dev/null 2>&1; then
  pin=(taskset -c "$cpu")
else
  echo "scripts/bench.sh: taskset not found (util-linux); running unpinned" >&2
fi

results="$build/results"
mkdir -p "$results"
rm -f "$results"/run.json "$results"/torch-avx512.json
common=(--benchmark_repetitions="$repetitions" --benchmark_report_aggregates_only=true
        --benchmark_min_time="$min_time" --benchmark_out_format=json)
# Every contender on one thread; OpenMP-based peers would otherwise use the
# whole affinity mask.
export OMP_NUM_THREADS=1

echo "== running smax_bench on CPU $cpu: $repetitions repetition(s) of >= ${min_time} s per entry"
env -u ATEN_CPU_CAPABILITY "${pin[@]}" "$binary" "${common[@]}" --benchmark_out="$results/run.json" \
  ${args[@]+"${args[@]}"}
runs=("$results/run.json")

# Only when the CPU has AVX-512 and the arguments select some torch entry. The
# list is captured first: under pipefail, `| grep -q .` would let the binary
# die of SIGPIPE once grep has its line, and the test would read as false.
torch_entries="$(SMAX_BENCH_CONTENDERS=torch "$binary" --benchmark_list_tests ${args[@]+"${args[@]}"} 2>/dev/null || true)"
if grep -qw avx512f /proc/cpuinfo 2>/dev/null && [[ -n $torch_entries ]]; then
  echo "== running libtorch's entries again with ATEN_CPU_CAPABILITY=avx512"
  if ATEN_CPU_CAPABILITY=avx512 SMAX_BENCH_CONTENDERS=torch "${pin[@]}" "$binary" "${common[@]}" \
    --benchmark_out="$results/torch-avx512.json" ${args[@]+"${args[@]}"}; then
    runs+=("$results/torch-avx512.json")
  else
    echo "scripts/bench.sh: the ATEN_CPU_CAPABILITY=avx512 run failed; reporting without it" >&2
  fi
fi

# ---------------------------------------------------------------- report
if [[ -n ${SMAX_BENCH_REPORT_DIR:-} ]]; then
  report_dir="$SMAX_BENCH_REPORT_DIR"
elif [[ $quick == 1 || ${#args[@]} -gt 0 ]]; then
  report_dir="$results"  # a partial run does not replace the published report
else
  report_dir="$root/bench/results"
fi
mkdir -p "$report_dir"
python3 "$root/bench/report.py" --md "$report_dir/latest.md" --png "$report_dir/latest.png" \
  --command "$command_text" "${runs[@]}"
echo "== done in $((SECONDS - start)) s; raw results in $results"
