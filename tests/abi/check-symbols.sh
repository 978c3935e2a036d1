#!/usr/bin/env bash
# The exported symbols of a shared library of ours (librtcap, librtcap-metrics-server) are the ABI
# of its SONAME: a symbol added or removed by accident must fail CI. This compares
# `nm -D --defined-only` of the built library with the list kept beside this script, named
# after the SONAME (librtcap.so.1.symbols; mangled names, sorted; `c++filt` reads them).
#
#   tests/abi/check-symbols.sh LIBRARY [LIST]            # compare (CTest: abi.exported_symbols)
#   tests/abi/check-symbols.sh --update LIBRARY [LIST]   # rewrite LIST after a deliberate change
#
# The one command after a deliberate change of the API: cmake --build build --target rtcap_update_symbols
# Then review `git diff tests/abi/` (adding a symbol is fine within one SONAME; removing or
# changing one breaks programs linked against it: bump RTCAP_SOVERSION in CMakeLists.txt, and
# git mv the lists to the new SONAME's names).
set -euo pipefail
update=0
if [ "${1:-}" = --update ]; then update=1; shift; fi
lib=${1:?usage: check-symbols.sh [--update] LIBRARY [LIST]}
command -v nm >/dev/null || { echo "check-symbols: nm not found: apt-get install binutils" >&2; exit 1; }
soname=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ -n "$soname" ] || { echo "check-symbols: $lib has no SONAME" >&2; exit 1; }
list=${2:-$(dirname "$0")/$soname.symbols}
command -v c++filt >/dev/null || { echo "check-symbols: c++filt not found: apt-get install binutils" >&2; exit 1; }
# Left out, as they are not rtcap's ABI:
# - _init, _fini, _edata, _end, __bss_start: the linker's own, in every shared object;
# - weak copies of standard-library templates (nm type W, V, u; `std::` once demangled, e.g.
#   std::__detail::__to_chars_10_impl<unsigned long>): vague linkage, emitted or not as the
#   compiler inlines, and bound by the dynamic linker to any one copy. A strong std:: symbol is
#   still reported (it would be a real leak).
syms=$(nm -D --defined-only "$lib" | awk '{print $2, $NF}')
names=$(printf '%s
' "$syms" | awk '{print $2}')
demangled=$(printf '%s
' "$names" | c++filt)
current=$(paste -d'\t' <(printf '%s\n' "$syms") <(printf '%s\n' "$demangled") |
  awk -F'\t' '{ split($1, a, " "); type = a[1]; name = a[2]; d = $2
    if (name ~ /^(_init|_fini|_edata|_end|__bss_start)$/) next
    if (type ~ /^[WVu]$/ && d ~ /^((typeinfo( name)?|vtable|VTT|guard variable) for )?([^ (]+ )?std::/) next
    print name }' | LC_ALL=C sort -u)
if [ "$update" = 1 ]; then
  printf '%s\n' "$current" > "$list"
  echo "check-symbols: wrote $(wc -l < "$list") symbols to $list"
  exit 0
fi
[ -f "$list" ] || { echo "check-symbols: $list missing: run with --update" >&2; exit 1; }
expected=$(grep -v '^#' "$list" | LC_ALL=C sort -u)
added=$(LC_ALL=C comm -13 <(printf '%s\n' "$expected") <(printf '%s\n' "$current"))
removed=$(LC_ALL=C comm -23 <(printf '%s\n' "$expected") <(printf '%s\n' "$current"))
if [ -z "$added" ] && [ -z "$removed" ]; then
  echo "check-symbols: $(printf '%s\n' "$current" | wc -l) exported symbols, as listed in $list"
  exit 0
fi
demangle() { if command -v c++filt >/dev/null; then c++filt; else cat; fi; }
[ -z "$added" ] || { echo "check-symbols: exported but not listed (new API? a symbol leaking?):"; printf '%s\n' "$added" | demangle | sed 's/^/  + /'; }
[ -z "$removed" ] || { echo "check-symbols: listed but no longer exported (breaks programs linked against $soname):"; printf '%s\n' "$removed" | demangle | sed 's/^/  - /'; }
echo "check-symbols: if the change is deliberate: cmake --build BUILD --target rtcap_update_symbols, and review git diff tests/abi/"
exit 1
