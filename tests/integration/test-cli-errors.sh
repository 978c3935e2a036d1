# Wrong input as a new user gives it: each answer is one line on stderr in rtcap's words and the
# README's exit code (2 a bad value, 3 nothing could be opened or set up, 1 a run that failed),
# and a report file that cannot be written stops `rtcap gen` before its first packet (the
# receiving veth end's kernel counters are the independent reader).
. "$(dirname "$0")/lib.sh" "$@"
require_root
require_netns

# expect CODE PATTERN CMD...: CMD exits CODE and prints exactly one stderr line matching PATTERN.
expect() {
  local want=$1 pattern=$2 rc=0
  shift 2
  timeout 30 "$@" >"$TMPD/out" 2>"$TMPD/err" </dev/null || rc=$?
  [ "$rc" -eq "$want" ] || fail "$*: exit $rc, want $want: $(cat "$TMPD/err")"
  [ "$(wc -l <"$TMPD/err")" -eq 1 ] || fail "$*: not one line: $(cat "$TMPD/err")"
  grep -Eq -- "$pattern" "$TMPD/err" || fail "$*: '$(cat "$TMPD/err")' does not match '$pattern'"
}

log "lab name $LAB"
expect 3 "^rtcap lab status: lab $LAB does not exist: create it with rtcap lab up --name $LAB\$" \
  "$RTCAP" lab status --name "$LAB"
[ ! -s "$TMPD/out" ] || fail "lab status of an absent lab printed a report: $(cat "$TMPD/out")"

# The parser's refusals, in every subcommand.
expect 2 "^rtcap lab: give a subcommand: up, down or status; see rtcap lab --help\$" "$RTCAP" lab
expect 2 "^rtcap lab up: unknown option '--bogus'; see rtcap lab up --help\$" "$RTCAP" lab up --bogus
expect 2 "^rtcap lab up: --name: invalid lab name" "$RTCAP" lab up --name 'a;b'
expect 2 "^rtcap gen: --count: '-1' is not a whole number" "$RTCAP" gen --netns "${LAB}-tx" --count -1
expect 2 "^rtcap gen: --streams: 'x' is not a whole number from 1 to" "$RTCAP" gen --streams x
expect 2 "^rtcap demo: --secs must be more than 0" "$RTCAP" demo --secs 0
expect 2 "^rtcap: unknown option '--bogus'; see rtcap --help\$" "$RTCAP" --bogus
expect 2 "^rtcap: --count: 'x' is not a whole number" "$RTCAP" -i lo -c x

# What is not there: an interface, a namespace, a file, a directory.
expect 3 "^rtcap: no such interface 'rtcapnone0'" "$RTCAP" -i rtcapnone0 -c 1
expect 3 "^rtcap: no such interface 'rtcapnone0'" "$RTCAP" -i rtcapnone0 -J
expect 3 "^rtcap: network namespace 'rtcapnone' not found" "$RTCAP" --netns rtcapnone -i lo -c 1
expect 3 "^rtcap gen: network namespace 'rtcapnone' not found" "$RTCAP" gen --netns rtcapnone --count 1
expect 3 "^rtcap: cannot read '/nonexistent/x.pcap'" "$RTCAP" -r /nonexistent/x.pcap
expect 3 "^rtcap: cannot create /nonexistent/x.pcap" "$RTCAP" -r "$(dirname "$0")/../data/rtp-12streams-125us.pcap" -w /nonexistent/x.pcap

# No root: every subcommand that needs it says so and exits 3.
if have setpriv; then
  nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups)
  expect 3 "^rtcap lab needs root" "${nobody[@]}" "$RTCAP" lab status --name "$LAB"
  expect 3 "^rtcap demo: needs root" "${nobody[@]}" "$RTCAP" demo
  expect 3 "^rtcap: no permission to capture on 'lo'" "${nobody[@]}" "$RTCAP" -i lo -c 1
else
  skip_part "setpriv missing: the non-root answers are not tested"
fi

# An unwritable --truth or --json: exit 1 at once, and not one packet reached the receiver.
"$RTCAP" lab up --name "$LAB" >/dev/null || fail "lab up failed"
rx_packets() { ip -n "${LAB}-rx" -s -j link show dev "${LAB}-rx" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["stats64"]["rx"]["packets"])'; }
before=$(rx_packets)
for option in --truth --json; do
  expect 1 "^rtcap gen: cannot write the $option file /nonexistent/rtcap/x: check the directory exists and is writable\$" \
    "$RTCAP" gen --netns "${LAB}-tx" --count 200 --rate 1000 "$option" /nonexistent/rtcap/x
done
after=$(rx_packets)
[ "$after" -eq "$before" ] || fail "gen with an unwritable report file sent $((after - before)) packets"
# The same run with a writable file does send: the counter above can see packets.
"$RTCAP" gen --netns "${LAB}-tx" -q --count 200 --rate 1000 --truth "$TMPD/truth.jsonl" || fail "gen with --truth failed"
sent=$(( $(rx_packets) - after ))
[ "$sent" -ge 200 ] || fail "the receiver counted $sent packets of 200"
log "PASS${SKIPPED_PARTS:+ (skipped parts: $SKIPPED_PARTS)}"
exit 0
