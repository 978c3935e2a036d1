#!/usr/bin/env bash
# The CLI's folders include one way (tools/rtcap/CMakeLists.txt draws it): each subcommand folder
# may include only the folders below it. Fails naming each file:line that includes upward or
# sideways. Usage: check-tool-layers.sh [TOOLS_DIR]
set -euo pipefail
dir=${1:-$(dirname "$0")/../../tools/rtcap}
declare -A allowed=(
  [common]="common"
  [lab]="lab common"
  [gen]="gen lab common"
  [bench]="bench gen lab common"
  [demo]="demo bench gen lab common"
  [capture]="capture common lab/netns.hpp"
)
bad=0
for folder in "${!allowed[@]}"; do
  [[ -d $dir/$folder ]] || { echo "check-tool-layers: $dir/$folder is missing" >&2; exit 1; }
  while IFS=: read -r file line text; do
    target=$(sed -E 's/.*#include "([^"]+)".*/\1/' <<<"$text")
    [[ $target == */* ]] || { [[ $target == cli.hpp ]] || continue; }
    top=${target%%/*}
    case $top in capture|lab|gen|bench|demo|common|cli.hpp) ;; *) continue ;; esac
    ok=0
    for a in ${allowed[$folder]}; do
      if [[ $a == */* ]]; then [[ $target == "$a" ]] && ok=1; else [[ $top == "$a" ]] && ok=1; fi
    done
    if (( ! ok )); then
      echo "$file:$line: tools/rtcap/$folder/ may not include \"$target\" (allowed: ${allowed[$folder]})"
      bad=1
    fi
  done < <(grep -Hn '^#include "' "$dir/$folder"/*.[ch]pp)
done
exit $bad
