#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz, clang + ASan + UBSan) and runs each for a bounded time,
# after replaying every saved regression input. Fails on any finding; the crashing input is kept
# under build-fuzz/artifacts/ and the command to reproduce it is printed.
#
#   .ci/fuzz.sh                 # 60 s per target
#   FUZZ_SECONDS=600 .ci/fuzz.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SECONDS_PER_TARGET=${FUZZ_SECONDS:-60}
BUILD=${FUZZ_BUILD_DIR:-$ROOT/build-fuzz}

# clang 14 and its runtime libraries (libFuzzer, ASan, UBSan) from Debian 12.
scripts/install-deps.sh clang libclang-rt-14-dev libpcap-dev libfmt-dev nlohmann-json3-dev cmake make \
  pkg-config

start=$(date +%s)
cmake -S tests/fuzz -B "$BUILD" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j"$(nproc)"
mkdir -p "$BUILD/artifacts"

status=0
for target in fuzz_stream_tracker fuzz_pcap_file fuzz_sap_sdp fuzz_audio_extract fuzz_audio_receiver fuzz_catalogue fuzz_ptp; do
  bin="$BUILD/$target"
  case $target in
    fuzz_pcap_file) max_len=16384 ;;
    *) max_len=4096 ;;
  esac
  # 1. Saved findings must stay fixed: each replayed once.
  reg="tests/fuzz/regressions/$target"
  if compgen -G "$reg/*" >/dev/null; then
    if ! "$bin" -runs=1 "$reg"/* >"$BUILD/artifacts/$target-regressions.log" 2>&1; then
      echo "fuzz: $target: a saved regression input fails again:" >&2
      grep -E "ERROR|runtime error|SUMMARY|Running:" "$BUILD/artifacts/$target-regressions.log" | tail -5 >&2
      echo "fuzz: reproduce: $bin $reg/*" >&2
      status=1
      continue
    fi
  fi
  # 2. Fuzz from the seeds (a scratch copy: the committed corpus stays small).
  work="$BUILD/corpus/$target"
  mkdir -p "$work"
  log="$BUILD/artifacts/$target.log"
  echo "fuzz: $target for ${SECONDS_PER_TARGET}s" >&2
  if ! "$bin" -max_total_time="$SECONDS_PER_TARGET" -max_len="$max_len" -timeout=10 \
      -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$BUILD/artifacts/$target-" \
      "$work" "tests/fuzz/corpus/${target#fuzz_}" >"$log" 2>&1; then
    echo "fuzz: $target FOUND A BUG:" >&2
    grep -E "ERROR|runtime error|SUMMARY|Test unit written" "$log" | head -8 >&2
    artifact=$(grep -o "Test unit written to .*" "$log" | sed 's/Test unit written to //' | tail -1)
    echo "fuzz: reproduce: $bin $artifact   (full log: $log)" >&2
    echo "fuzz: keep it: cp $artifact tests/fuzz/regressions/$target/" >&2
    status=1
  else
    grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$log" | tr '\n' ' ' >&2; echo >&2
  fi
done
echo "fuzz: $( [ $status = 0 ] && echo PASS || echo FAIL ) in $(( $(date +%s) - start )) s" >&2
exit $status
