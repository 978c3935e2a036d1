# rtcap lab: up is idempotent, down removes everything (also after a half-made up), status
# reports what exists, bad names and non-root are refused.
. "$(dirname "$0")/lib.sh" "$@"
require_root
require_netns

log "lab name $LAB"
"$RTCAP" lab up --name "$LAB" >"$TMPD/up1" || fail "first lab up failed: $(cat "$TMPD/up1")"
"$RTCAP" lab up --name "$LAB" >"$TMPD/up2" || fail "second lab up (idempotent) failed"

# What up made.
ip netns list | grep -q "^${LAB}-tx" || fail "netns ${LAB}-tx missing after up"
ip netns list | grep -q "^${LAB}-rx" || fail "netns ${LAB}-rx missing after up"
ip -n "${LAB}-tx" -br addr show dev "${LAB}-tx" | grep -q "198.18.0.1/24" || fail "198.18.0.1/24 not on ${LAB}-tx"
ip -n "${LAB}-rx" -br addr show dev "${LAB}-rx" | grep -q "198.18.0.2/24" || fail "198.18.0.2/24 not on ${LAB}-rx"
ip -n "${LAB}-tx" -br link show dev "${LAB}-tx" | grep -q "UP" || fail "${LAB}-tx not up"
ip -n "${LAB}-rx" -br link show dev lo | grep -q "UNKNOWN\|UP" || fail "lo not up in ${LAB}-rx"
ip -n "${LAB}-tx" neigh show dev "${LAB}-tx" | grep -q "198.18.0.2 .*PERMANENT" || fail "no permanent neighbour 198.18.0.2 in ${LAB}-tx"
ip -n "${LAB}-rx" neigh show dev "${LAB}-rx" | grep -q "198.18.0.1 .*PERMANENT" || fail "no permanent neighbour 198.18.0.1 in ${LAB}-rx"
# Multicast routed across the pair, inside the lab only.
ip -n "${LAB}-tx" route show 224.0.0.0/4 | grep -q "dev ${LAB}-tx" || fail "no multicast route to ${LAB}-tx in ${LAB}-tx"
ip -n "${LAB}-rx" route show 224.0.0.0/4 | grep -q "dev ${LAB}-rx" || fail "no multicast route to ${LAB}-rx in ${LAB}-rx"
if ip route show 224.0.0.0/4 | grep -q "${LAB}-"; then fail "multicast route to the lab in the host namespace"; fi
if ip -n "${LAB}-tx" -6 addr show dev "${LAB}-tx" | grep -q inet6; then fail "IPv6 address on ${LAB}-tx (IPv6 must be off)"; fi
if ip -n "${LAB}-rx" -6 addr show dev "${LAB}-rx" | grep -q inet6; then fail "IPv6 address on ${LAB}-rx (IPv6 must be off)"; fi
# Only 198.18.0.0/15 addresses anywhere in the lab.
for ns in "${LAB}-tx" "${LAB}-rx"; do
  ip -n "$ns" -4 -o addr show | awk '{print $4}' | grep -v '^127\.' | grep -v '^198\.1[89]\.' && fail "address outside 198.18.0.0/15 in $ns"
done

# Status: complete, names the pieces.
"$RTCAP" lab status --name "$LAB" >"$TMPD/status" || fail "lab status exit $? on a complete lab"
grep -q "lab $LAB: up" "$TMPD/status" || fail "status does not say up: $(cat "$TMPD/status")"
grep -q "198.18.0.2" "$TMPD/status" || fail "status does not show 198.18.0.2"
cat "$TMPD/status" >&2

# Down twice.
"$RTCAP" lab down --name "$LAB" >/dev/null || fail "first lab down failed"
assert_lab_gone
"$RTCAP" lab down --name "$LAB" >/dev/null || fail "second lab down (nothing there) failed"
# A lab that does not exist: one line saying so and how to make it, exit 3.
rc=0; "$RTCAP" lab status --name "$LAB" >"$TMPD/status2" 2>"$TMPD/status2.err" || rc=$?
[ "$rc" -eq 3 ] || fail "status of an absent lab should exit 3, got $rc"
[ ! -s "$TMPD/status2" ] || fail "status of an absent lab printed a report: $(cat "$TMPD/status2")"
[ "$(wc -l <"$TMPD/status2.err")" -eq 1 ] || fail "absent lab: not one line: $(cat "$TMPD/status2.err")"
grep -qx "rtcap lab status: lab $LAB does not exist: create it with rtcap lab up --name $LAB" \
  "$TMPD/status2.err" || fail "absent lab: $(cat "$TMPD/status2.err")"

# Half-made up: only the tx namespace (and a stray veth end in the root namespace), then down.
ip netns add "${LAB}-tx" || fail "could not create ${LAB}-tx by hand"
ip link add "${LAB}-rx" type veth peer name "${LAB}-tx" || fail "could not create a stray veth by hand"
rc=0; "$RTCAP" lab status --name "$LAB" >"$TMPD/status3" || rc=$?
[ "$rc" -eq 3 ] || fail "status of a half lab should exit 3, got $rc"
grep -q "netns ${LAB}-rx: absent" "$TMPD/status3" || fail "half lab: rx not shown absent: $(cat "$TMPD/status3")"
"$RTCAP" lab down --name "$LAB" >/dev/null || fail "lab down after a half-made up failed"
assert_lab_gone

# Half-made, then up repairs it.
ip netns add "${LAB}-rx" || fail "could not create ${LAB}-rx by hand"
"$RTCAP" lab up --name "$LAB" >/dev/null || fail "lab up over a half-made lab failed"
"$RTCAP" lab status --name "$LAB" >/dev/null || fail "lab not complete after repairing up"
"$RTCAP" lab down --name "$LAB" >/dev/null || fail "lab down failed"
assert_lab_gone

# Refusals (README's exit codes): bad names are bad values, 2 (no shell or path games); without
# root nothing can be set up, 3.
for bad in "a;b" "TOOLONG123" "../x" "Upper"; do
  rc=0; "$RTCAP" lab up --name "$bad" 2>"$TMPD/err" || rc=$?
  [ "$rc" -eq 2 ] || fail "lab up --name '$bad' should exit 2, got $rc"
  [ "$(wc -l <"$TMPD/err")" -eq 1 ] || fail "error for '$bad' should be one line: $(cat "$TMPD/err")"
done
if have setpriv; then
  rc=0; setpriv --reuid=65534 --regid=65534 --clear-groups "$RTCAP" lab up --name "$LAB" 2>"$TMPD/err" || rc=$?
  [ "$rc" -eq 3 ] || fail "non-root lab up should exit 3, got $rc"
  grep -qx "rtcap lab needs root (network namespaces): run as root" "$TMPD/err" ||
    fail "non-root message: $(cat "$TMPD/err")"
else
  skip_part "setpriv missing: non-root refusal not tested"
fi
assert_lab_gone
log "PASS${SKIPPED_PARTS:+ (skipped parts: $SKIPPED_PARTS)}"
exit 0
