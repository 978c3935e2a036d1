# rtcap --metrics-listen end to end: a live capture in a veth lab serves Prometheus text whose
# numbers match what was sent (packets, streams, histogram counts), checked by `promtool check
# metrics` when installed (Debian package prometheus) and by format rules here; 404 elsewhere;
# non-loopback addresses refused without --metrics-allow-any-address.
. "$(dirname "$0")/lib.sh" "$@"
require_root
require_netns
"$RTCAP" --help 2>&1 | grep -q -- "--metrics-listen" || skip "rtcap has no --metrics-listen"

"$RTCAP" lab up --name "$LAB" >/dev/null || fail "lab up"
RX="${LAB}-rx"

# http NS PORT PATH: raw HTTP/1.0 GET inside the namespace (its own loopback), via bash /dev/tcp.
http() {
  ip netns exec "$1" timeout 10 bash -c \
    'exec 3<>/dev/tcp/127.0.0.1/$0 && printf "GET %s HTTP/1.0\r\n\r\n" "$1" >&3 && cat <&3' "$2" "$3"
}

timeout 60 "$RTCAP" --netns "$RX" -i "$RX" -q --streams --metrics-listen 127.0.0.1:0 \
  -w "$TMPD/m.pcap" udp dst portrange 5004-5010 2>"$TMPD/m.err" &
PID=$!
BG_PIDS="$BG_PIDS $PID"
for i in $(seq 1 100); do
  grep -q "listening on" "$TMPD/m.err" 2>/dev/null && break
  kill -0 "$PID" 2>/dev/null || fail "rtcap did not start: $(cat "$TMPD/m.err")"
  sleep 0.05
done
PORT=$(grep -o "metrics at http://127.0.0.1:[0-9]*" "$TMPD/m.err" | sed 's/.*://')
[ -n "$PORT" ] || fail "no 'metrics at http://127.0.0.1:PORT' line: $(cat "$TMPD/m.err")"

"$RTCAP" gen --netns "${LAB}-tx" -q --rate 8000 --count 8000 >/dev/null || fail "gen"
sleep 2.5  # the consumer publishes about once a second
http "$RX" "$PORT" /metrics >"$TMPD/scrape.raw" || fail "scrape failed"
head -1 "$TMPD/scrape.raw" | grep -q "^HTTP/1.0 200 OK" || fail "status: $(head -1 "$TMPD/scrape.raw")"
grep -qi "^Content-Type: text/plain; version=0.0.4" "$TMPD/scrape.raw" || fail "content type"
sed '1,/^\r$/d' "$TMPD/scrape.raw" >"$TMPD/metrics.txt"

value() { grep -E "^$1 " "$TMPD/metrics.txt" | awk '{print $2}'; }
[ "$(value rtcap_packets_captured_total)" = 8000 ] ||
  fail "rtcap_packets_captured_total = $(value rtcap_packets_captured_total), want 8000"
[ "$(value 'rtcap_delivery_latency_seconds_count')" = 8000 ] || fail "latency _count"
[ "$(value 'rtcap_delivery_latency_seconds_bucket\{le="\+Inf"\}')" = 8000 ] || fail "latency +Inf bucket"
grep -q "^rtcap_kernel_dropped_packets_total{interface=\"$RX\"} 0$" "$TMPD/metrics.txt" || fail "kernel drops series"
grep -q '^rtcap_stream_packets_total{src="198\.18\.0\.1:[0-9]*",dst="198\.18\.0\.2:500[0-9]",ssrc="0x[0-9a-f]\{8\}"} ' \
  "$TMPD/metrics.txt" || fail "no per-stream series: $(grep rtcap_stream_packets "$TMPD/metrics.txt")"
grep -q '^rtcap_advice_active{rule="reader-too-slow",' "$TMPD/metrics.txt" || fail "advice series"
# Format rules: every sample's family has one HELP and one TYPE, names are valid.
awk '
  /^# HELP / { if (help[$3]++) { print "second HELP " $3; bad = 1 } next }
  /^# TYPE / { if (type[$3]++) { print "second TYPE " $3; bad = 1 } t[$3] = $4; next }
  /^#/ { next }
  {
    name = $1; sub(/\{.*/, "", name)
    if (name !~ /^[a-zA-Z_:][a-zA-Z0-9_:]*$/) { print "bad name " name; bad = 1 }
    fam = name; sub(/_(bucket|sum|count)$/, "", fam)
    if (!(name in type) && !(fam in type)) { print "no TYPE for " name; bad = 1 }
    if ($NF !~ /^([-+]?[0-9.eE+-]+|\+Inf|-Inf|NaN)$/) { print "bad value " $0; bad = 1 }
  }
  END { exit bad }' "$TMPD/metrics.txt" >"$TMPD/format.err" || fail "format rules: $(head -5 "$TMPD/format.err")"
PROMTOOL=$(command -v promtool || true)
if [ -z "$PROMTOOL" ] && have apt-get && have dpkg-deb; then
  # Debian ships promtool inside the prometheus server package; unpack the .deb instead of
  # installing it, so that no Prometheus server is started on this machine.
  (cd "$TMPD" && apt-get download -q prometheus >/dev/null 2>&1 && dpkg-deb -x prometheus_*.deb pkg) &&
    PROMTOOL="$TMPD/pkg/usr/bin/promtool"
  [ -x "$PROMTOOL" ] || PROMTOOL=""
fi
if [ -n "$PROMTOOL" ]; then
  "$PROMTOOL" check metrics <"$TMPD/metrics.txt" || fail "promtool check metrics"
  log "promtool check metrics: ok"
else
  skip_part "promtool not installed (Debian package prometheus): format checked by awk here and the strict parser in test_metrics.cpp"
fi
http "$RX" "$PORT" / | head -1 | grep -q "404" || fail "/ is not 404"

kill -INT "$PID"
wait "$PID" || fail "rtcap exited $? after SIGINT: $(tail -3 "$TMPD/m.err")"

# Non-loopback refused, one line naming the option.
rc=0
"$RTCAP" --netns "$RX" -i "$RX" --metrics-listen 0.0.0.0:0 -c 1 -w "$TMPD/x.pcap" 2>"$TMPD/any.err" || rc=$?
[ "$rc" != 0 ] || fail "0.0.0.0 accepted without --metrics-allow-any-address"
# The library names MetricsServerOptions::allow_any_address; the CLI words it as its flag.
grep -q "not a loopback address" "$TMPD/any.err" && grep -q -- "--metrics-allow-any-address" "$TMPD/any.err" &&
  ! grep -q "MetricsServerOptions" "$TMPD/any.err" ||
  fail "non-loopback message: $(cat "$TMPD/any.err")"

"$RTCAP" lab down --name "$LAB" >/dev/null || fail "lab down"
assert_lab_gone
log "PASS"
