#!/usr/bin/env bash
# The .clang-format check (Debian's clang-format; scripts/install-deps.sh clang-format).
#
#   scripts/check-format.sh          # fails if a file named in scripts/format-checked.txt is not
#                                    # formatted; any other C/C++ file only warns (a count)
#   scripts/check-format.sh --list   # also names every file that is not formatted
#
# scripts/format-checked.txt names the files enforced; its line '*' (since the tree was formatted
# once, in a commit of its own, issue 12) enforces every tracked C/C++ file.
set -euo pipefail
cd "$(dirname "$0")/.."
list=false
[[ ${1:-} == --list ]] && list=true
clang_format="$(command -v clang-format || command -v clang-format-14 || true)"
if [[ -z $clang_format ]]; then
  echo "check-format: clang-format is not installed: scripts/install-deps.sh clang-format" >&2
  exit 1
fi
mapfile -t all < <(git ls-files '*.cpp' '*.hpp' '*.h' '*.c' ':!:tests/fuzz/corpus/*' ':!:tests/fuzz/regressions/*')
enforced=()
if [[ -f scripts/format-checked.txt ]]; then
  while read -r line; do
    line="${line%%#*}"
    line="${line//[[:space:]]/}"
    [[ -z $line ]] && continue
    if [[ $line == '*' ]]; then enforced=("${all[@]}"); break; fi
    [[ -f $line ]] || { echo "check-format: scripts/format-checked.txt names $line, which does not exist" >&2; exit 1; }
    enforced+=("$line")
  done <scripts/format-checked.txt
fi
declare -A is_enforced=()
for f in "${enforced[@]}"; do is_enforced[$f]=1; done
bad_enforced=()
unformatted_others=0
for f in "${all[@]}"; do
  if "$clang_format" --dry-run -Werror --style=file "$f" >/dev/null 2>&1; then continue; fi
  if [[ -n ${is_enforced[$f]:-} ]]; then
    bad_enforced+=("$f")
  else
    unformatted_others=$((unformatted_others + 1))
    $list && echo "check-format: not formatted (not enforced yet): $f" >&2
  fi
done
others=$(( ${#all[@]} - ${#enforced[@]} ))
echo "check-format: $(( ${#enforced[@]} - ${#bad_enforced[@]} ))/${#enforced[@]} enforced files formatted$( ((others)) && echo "; warning: $unformatted_others of the $others files not enforced are not formatted")" >&2
if ((${#bad_enforced[@]})); then
  for f in "${bad_enforced[@]}"; do echo "check-format: FAIL $f is not formatted: run $clang_format -i --style=file $f" >&2; done
  exit 1
fi
