# Least privilege, on a veth lab, every packet counted:
#   1. rtcap -Z nobody: opens the handle as root, then runs as nobody (checked in /proc while it
#      captures: uids, gids, no capabilities), and still captures every packet;
#   2. a copy of the binary with file capabilities (setcap cap_net_raw,cap_net_admin=eip) run as
#      user nobody captures every packet; the same copy without them fails with a clear message;
#   3. with file capabilities and -Z nobody (same user): the capabilities are shed after opening.
# Parts whose tool (setcap, setpriv) or option (-Z) is missing are skipped loudly.
. "$(dirname "$0")/lib.sh" "$@"
require_root
require_netns
SEQCHECK=${RTCAP_SEQCHECK:-}
[ -x "$SEQCHECK" ] || fail "RTCAP_SEQCHECK must name the rtcap_seqcheck binary (CTest sets it)"
getent passwd nobody >/dev/null || skip "no user 'nobody'"
NOBODY_UID=$(id -u nobody)
NOBODY_GID=$(id -g nobody)

"$RTCAP" lab up --name "$LAB" >/dev/null || fail "lab up"
RX="${LAB}-rx"
chmod 755 "$TMPD"
OUT="$TMPD/out"
mkdir -p "$OUT"
chown nobody "$OUT"  # the unprivileged capture writes its file here



# proc_field PID FIELD: the values of a /proc/PID/status line ("Uid", "CapEff", ...).
proc_field() { awk -v f="$2:" '$1 == f { $1 = ""; print substr($0, 2) }' "/proc/$1/status"; }

# check_unprivileged NAME PID: every uid and gid is nobody's, no capability is effective,
# permitted or inheritable.
check_unprivileged() {
  local name=$1 pid=$2 f
  [ "$(proc_field "$pid" Uid | tr -s '\t ' ' ')" = "$NOBODY_UID $NOBODY_UID $NOBODY_UID $NOBODY_UID" ] ||
    fail "$name: uids are $(proc_field "$pid" Uid), want $NOBODY_UID"
  [ "$(proc_field "$pid" Gid | tr -s '\t ' ' ')" = "$NOBODY_GID $NOBODY_GID $NOBODY_GID $NOBODY_GID" ] ||
    fail "$name: gids are $(proc_field "$pid" Gid), want $NOBODY_GID"
  for f in CapEff CapPrm CapInh; do
    [ "$(proc_field "$pid" $f)" = 0000000000000000 ] || fail "$name: $f is $(proc_field "$pid" $f)"
  done
}

# 1. -Z nobody as root.
if "$RTCAP" --help 2>&1 | grep -q -- "-Z"; then
  timeout 60 "$RTCAP" --netns "$RX" -i "$RX" -Z nobody -q -c 20000 -w "$OUT/z.pcap" \
    udp dst port 5004 2>"$TMPD/z.err" &
  PID=$!
  BG_PIDS="$BG_PIDS $PID"
  wait_listening "$TMPD/z.err" "$PID"
  RTCAP_CHILD=$(pgrep -P "$PID" | head -1)
  check_unprivileged "-Z nobody" "$RTCAP_CHILD"
  gen --payload 32 --rate 50000 --count 20000
  wait "$PID" || fail "rtcap -Z nobody exited $?: $(tail -3 "$TMPD/z.err")"
  "$SEQCHECK" "$OUT/z.pcap" --expect 20000 >/dev/null || fail "-Z nobody: sequence check"
  [ "$(stat -c %U "$OUT/z.pcap")" = nobody ] || log "note: -Z file owned by $(stat -c %U "$OUT/z.pcap") (opened before the drop)"
  log "-Z nobody: ran as uid $NOBODY_UID with no capabilities, 20000/20000 packets"
  # A user that does not exist: one line, before anything is captured.
  rc=0
  "$RTCAP" --netns "$RX" -i "$RX" -Z rtcap-no-such-user -c 1 -w "$OUT/none.pcap" 2>"$TMPD/nouser.err" || rc=$?
  [ "$rc" != 0 ] || fail "-Z unknown user: exit 0"
  grep -q "no such user" "$TMPD/nouser.err" || fail "-Z unknown user: $(cat "$TMPD/nouser.err")"
else
  skip_part "rtcap has no -Z option yet: -Z capture not tested (tests/unit/test_privileges.cpp tests drop_privileges)"
fi

# 2. File capabilities, run as nobody.
if have setcap && have setpriv && have getcap; then
  mkdir -p "$TMPD/bin"
  cp "$RTCAP" "$TMPD/bin/rtcap"
  chmod 755 "$TMPD/bin" "$TMPD/bin/rtcap"
  as_nobody() { setpriv --reuid nobody --regid "$NOBODY_GID" --init-groups --inh-caps=-all "$@"; }
  # The copy loads librtcap from its build-tree RUNPATH: nobody must be able to read it.
  if ! as_nobody "$TMPD/bin/rtcap" --version >/dev/null 2>"$TMPD/ver.err"; then
    skip_part "user nobody cannot run the binary from this build tree ($(head -1 "$TMPD/ver.err")): file capabilities not tested"
  else
    # Without capabilities: refused, with the fix named.
    rc=0
    ip netns exec "$RX" setpriv --reuid nobody --regid "$NOBODY_GID" --init-groups --inh-caps=-all \
      "$TMPD/bin/rtcap" -i "$RX" -c 1 -w "$OUT/nocap.pcap" 2>"$TMPD/nocap.err" || rc=$?
    [ "$rc" = 3 ] || fail "no capabilities: exit $rc (want 3): $(cat "$TMPD/nocap.err")"
    grep -qi "permission" "$TMPD/nocap.err" && grep -q "CAP_NET_RAW" "$TMPD/nocap.err" ||
      fail "no capabilities: message does not name the fix: $(cat "$TMPD/nocap.err")"

    if setcap cap_net_raw,cap_net_admin=eip "$TMPD/bin/rtcap" 2>"$TMPD/setcap.err"; then
      getcap "$TMPD/bin/rtcap" | grep -q "cap_net_admin,cap_net_raw=eip" ||
        fail "getcap: $(getcap "$TMPD/bin/rtcap")"
      ip netns exec "$RX" setpriv --reuid nobody --regid "$NOBODY_GID" --init-groups --inh-caps=-all \
        timeout 60 "$TMPD/bin/rtcap" -i "$RX" -q -c 20000 -w "$OUT/fcap.pcap" udp dst port 5004 \
        2>"$TMPD/fcap.err" &
      PID=$!
      BG_PIDS="$BG_PIDS $PID"
      wait_listening "$TMPD/fcap.err" "$PID"
      gen --payload 32 --rate 50000 --count 20000
      wait "$PID" || fail "file-capability capture as nobody exited $?: $(tail -3 "$TMPD/fcap.err")"
      "$SEQCHECK" "$OUT/fcap.pcap" --expect 20000 >/dev/null || fail "file capabilities: sequence check"
      [ "$(stat -c %U "$OUT/fcap.pcap")" = nobody ] || fail "file capabilities: file not owned by nobody"
      log "file capabilities as nobody: 20000/20000 packets"

      # 3. Same user and -Z: the capabilities are shed once the handle is open.
      if "$RTCAP" --help 2>&1 | grep -q -- "-Z"; then
        ip netns exec "$RX" setpriv --reuid nobody --regid "$NOBODY_GID" --init-groups --inh-caps=-all \
          timeout 60 "$TMPD/bin/rtcap" -i "$RX" -Z nobody -q -c 5000 -w "$OUT/fcapz.pcap" \
          udp dst port 5004 2>"$TMPD/fcapz.err" &
        PID=$!
        BG_PIDS="$BG_PIDS $PID"
        wait_listening "$TMPD/fcapz.err" "$PID"
        check_unprivileged "file capabilities + -Z nobody" "$(pgrep -P "$PID" | head -1)"
        gen --payload 32 --rate 50000 --count 5000
        wait "$PID" || fail "file capabilities + -Z exited $?: $(tail -3 "$TMPD/fcapz.err")"
        "$SEQCHECK" "$OUT/fcapz.pcap" --expect 5000 >/dev/null || fail "file capabilities + -Z: sequence check"
        log "file capabilities + -Z nobody: capabilities shed, 5000/5000 packets"
      else
        skip_part "rtcap has no -Z option yet: shedding file capabilities not tested"
      fi
    else
      skip_part "setcap failed here ($(cat "$TMPD/setcap.err")): file capabilities not tested"
    fi
  fi
else
  skip_part "setcap/getcap (libcap2-bin) or setpriv (util-linux) not installed"
fi

"$RTCAP" lab down --name "$LAB" >/dev/null || fail "lab down"
assert_lab_gone
log "PASS"
