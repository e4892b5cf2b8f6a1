#!/usr/bin/env bash
# Builds the libFuzzer targets (cmake --workflow --preset fuzz) and runs each
# for a bounded time, starting from its seed corpus in fuzz/corpus/<target>.
# Any contract violation, sanitizer report, crash or timeout fails the run;
# libFuzzer then writes the input as crash-*/timeout-* under build/fuzz/runs.
#
#   scripts/fuzz.sh                 every target, SMAX_FUZZ_SECONDS each
#   scripts/fuzz.sh cross_entropy   one target
# Environment:
#   SMAX_FUZZ_SECONDS   seconds per target (default 20: about a minute in all)
#   SMAX_FUZZ_GROW=1    merge what the run found back into fuzz/corpus (to
#                       refresh the seeds after the decoders change)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

packages=(cmake ninja-build clang)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed' || missing+=("$p")
done
if ((${#missing[@]} > 0)); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "scripts/fuzz.sh: missing packages: ${missing[*]} (apt-get install -y ${missing[*]})" >&2
    exit 1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

seconds="${SMAX_FUZZ_SECONDS:-20}"
targets=("$@")
((${#targets[@]} > 0)) || targets=(forward backward cross_entropy)

cmake --workflow --preset fuzz --fresh

runs="$root/build/fuzz/runs"
failed=()
for t in "${targets[@]}"; do
  binary="$root/build/fuzz/fuzz/smax_fuzz_$t"
  seeds="$root/fuzz/corpus/$t"
  # New inputs go to a scratch corpus: the one in the repository changes only
  # when asked (SMAX_FUZZ_GROW=1).
  work="$runs/$t/corpus"
  rm -rf "$runs/$t"
  mkdir -p "$work" "$runs/$t/artifacts"
  echo "== smax_fuzz_$t: $seconds s from $(find "$seeds" -type f 2>/dev/null | wc -l) seeds"
  # -timeout: one input may take a while (a 128k-class row on every ISA under
  # ASan), but not this long. -rss_limit_mb: the decoders cap allocations well
  # below it. -print_final_stats: the closing line says how much was covered.
  # -seed: the same mutations on every run, so CI's verdict depends on the
  # code, not on luck (set SMAX_FUZZ_SEED=0 for a random seed).
  if ! "$binary" "$work" "$seeds" -seed="${SMAX_FUZZ_SEED:-1}" -max_total_time="$seconds" -timeout=60 -rss_limit_mb=4096 \
    -artifact_prefix="$runs/$t/artifacts/" -print_final_stats=1 2>"$runs/$t/log"; then
    tail -n 60 "$runs/$t/log" >&2
    echo "== smax_fuzz_$t: FAILED; the input is in $runs/$t/artifacts" >&2
    failed+=("$t")
    continue
  fi
  grep -E '^(#[0-9]+.*DONE|stat::number_of_executed_units|stat::new_units_added)' "$runs/$t/log" || true
  if [[ ${SMAX_FUZZ_GROW:-0} == 1 ]]; then
    mkdir -p "$seeds"
    "$binary" -merge=1 "$seeds" "$work" 2>>"$runs/$t/log" >/dev/null
    echo "== smax_fuzz_$t: corpus now $(find "$seeds" -type f | wc -l) files"
  fi
done

if ((${#failed[@]} > 0)); then
  echo "scripts/fuzz.sh: failed: ${failed[*]}" >&2
  exit 1
fi
echo "scripts/fuzz.sh: all targets ran $seconds s without a finding"
