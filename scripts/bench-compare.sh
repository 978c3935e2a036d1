#!/bin/bash
# Two builds of rtcap_microbench side by side, interleaved (old, new, old, new, ...) so that the
# machine's other load falls on both alike: per benchmark, the CPU time per iteration of every
# round, then the median and the min-max of each build and the median of the per-round ratios.
# Usage: scripts/bench-compare.sh OLD_BINARY NEW_BINARY [FILTER_REGEX] [ROUNDS]
set -euo pipefail
old=${1:?usage: bench-compare.sh OLD_BINARY NEW_BINARY [FILTER_REGEX] [ROUNDS]}
new=${2:?usage: bench-compare.sh OLD_BINARY NEW_BINARY [FILTER_REGEX] [ROUNDS]}
filter=${3:-.}
rounds=${4:-5}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for r in $(seq 1 "$rounds"); do
  "$old" --benchmark_filter="$filter" --benchmark_format=json >"$tmp/old.$r.json" 2>/dev/null
  "$new" --benchmark_filter="$filter" --benchmark_format=json >"$tmp/new.$r.json" 2>/dev/null
done
python3 - "$tmp" "$rounds" <<'PY'
import json, statistics, sys
tmp, rounds = sys.argv[1], int(sys.argv[2])
def load(which):
    runs = {}
    for r in range(1, rounds + 1):
        for b in json.load(open(f"{tmp}/{which}.{r}.json"))["benchmarks"]:
            runs.setdefault(b["name"], []).append(b["cpu_time"])
    return runs
old, new = load("old"), load("new")
print(f"CPU ns per iteration, {rounds} interleaved rounds; load average {open('/proc/loadavg').read().split()[0]}")
print(f"{'benchmark':<58} {'old med':>8} {'old min-max':>15} {'new med':>8} {'new min-max':>15} {'new/old':>8}")
for name in old:
    if name not in new:
        continue
    ratios = [n / o for o, n in zip(old[name], new[name])]
    span = lambda v: f"{min(v):.1f}-{max(v):.1f}"
    print(f"{name:<58} {statistics.median(old[name]):8.1f} {span(old[name]):>15} "
          f"{statistics.median(new[name]):8.1f} {span(new[name]):>15} "
          f"{statistics.median(ratios):8.2f}")
for name in new:
    if name not in old:  # a benchmark the old build does not have
        print(f"{name:<58} {'-':>8} {'-':>15} {statistics.median(new[name]):8.1f} "
              f"{min(new[name]):.1f}-{max(new[name]):.1f}".rstrip())
PY
