#!/usr/bin/env bash
# Installs what the build needs (Debian/Ubuntu, as root), then configures from
# scratch, builds and runs every test: `cmake --workflow --preset test`.
# Works from any directory. Environment:
#   SMAX_REQUIRE_ISAS      comma-separated ISAs the test binary must be able to
#                          run (e.g. scalar,sse2,avx2); it fails otherwise.
#   CMAKE_BUILD_PARALLEL_LEVEL, CTEST_PARALLEL_LEVEL   default: all cores.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

packages=(cmake ninja-build g++ clang catch2 libbenchmark-dev clang-format)

installed() {
  # dpkg -s also succeeds for removed packages whose configuration remains.
  dpkg -s "$1" 2>/dev/null | grep -q '^Status: install ok installed'
}

if command -v dpkg >/dev/null 2>&1; then
  missing=()
  for p in "${packages[@]}"; do
    installed "$p" || missing+=("$p")
  done
  if ((${#missing[@]} > 0)); then
    if [[ $(id -u) -ne 0 ]]; then
      echo "scripts/test.sh: missing packages: ${missing[*]}" >&2
      echo "install them as root with:  apt-get update && apt-get install -y ${missing[*]}" >&2
      exit 1
    fi
    echo "== installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
else
  echo "scripts/test.sh: not a Debian-based system; make sure these are installed: ${packages[*]}" >&2
fi

# Workflow presets need CMake 3.25 (Debian 12 has it; older: pip install cmake).
cmake_version="$(cmake --version | sed -n 's/^cmake version \([0-9][0-9.]*\).*/\1/p')"
if ! printf '3.25\n%s\n' "$cmake_version" | sort -V -C; then
  echo "scripts/test.sh: CMake $cmake_version is too old; the presets need 3.25 or newer" >&2
  exit 1
fi

jobs="$(nproc 2>/dev/null || echo 2)"
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$jobs}"
export CTEST_PARALLEL_LEVEL="${CTEST_PARALLEL_LEVEL:-$jobs}"

# --fresh: a cache left by an earlier configure (another compiler, other
# options) must not decide what this run tests.
exec cmake --workflow --preset test --fresh
