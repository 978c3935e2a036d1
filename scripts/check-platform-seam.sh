#!/usr/bin/env bash
# The platform seam check (issue 12): no preprocessor test of the platform (_WIN32, _WIN64,
# __CYGWIN__, __MINGW32__, __MINGW64__, __linux__, __APPLE__, __unix__) in the library or the
# CLI outside the places whose job it is:
#   src/platform/                     the operating system seam (docs/ARCHITECTURE.md)
#   include/rtcap/export.hpp, rtcap.h the export macros (dllexport/dllimport or visibility)
#   tools/**/*_windows.*, *_posix.*   the CLI's own seam files, one per platform
#   tools/**/host.hpp                 the CLI's host seam header
# A platform difference anywhere else goes into one of those, behind a function. Tests are not
# checked: they assert what differs (a Windows-only behaviour, a Linux-only test).
#
#   scripts/check-platform-seam.sh    exit 1 naming each offending file:line, else 0 (< 1 s)
set -euo pipefail
cd "$(dirname "$0")/.."
pattern='^[[:space:]]*#[[:space:]]*(if|ifdef|ifndef|elif|elifdef|elifndef)\b.*\b(_WIN32|_WIN64|__CYGWIN__|__MINGW32__|__MINGW64__|__linux__|__APPLE__|__unix__)\b'
allowed() {
  case $1 in
    src/platform/*) return 0 ;;
    include/rtcap/export.hpp | include/rtcap/rtcap.h) return 0 ;;
    tools/*_windows.* | tools/*_posix.* | tools/*/host.hpp) return 0 ;;
  esac
  return 1
}
# Tracked files and new ones not yet added (the check runs on work trees too).
mapfile -t files < <(git ls-files --cached --others --exclude-standard -- src include tools |
  grep -E '\.(c|cc|cpp|h|hpp)$' | sort -u)
bad=0
for f in "${files[@]}"; do
  [[ -f $f ]] || continue
  allowed "$f" && continue
  while IFS= read -r hit; do
    echo "check-platform-seam: $f:${hit%%:*}: platform test outside src/platform and the CLI's seam files: move it behind a function there (${hit#*:})" >&2
    bad=$((bad + 1))
  done < <(grep -nE "$pattern" "$f" || true)
done
if ((bad)); then
  echo "check-platform-seam: FAIL: $bad platform test(s) outside the seam (scripts/check-platform-seam.sh says where they may be)" >&2
  exit 1
fi
echo "check-platform-seam: OK: ${#files[@]} files, no platform test outside src/platform and the seam files"
