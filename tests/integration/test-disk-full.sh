#!/usr/bin/env bash
# The database on a small tmpfs that fills up while the daemon ingests live input (stdin, as from
# auditd's plugin framework): it keeps reading and counting every denial it could not store,
# says so in stats (store_failing, store_error, a loss window) and once in the log, goes on
# serving queries, and stores again by itself once there is room - without a restart. Then the
# file passes integrity_check. Needs root (mount); the test runs in a private mount namespace.
set -euo pipefail
source "$AVCWATCH_TESTLIB"

require_root
command -v sqlite3 > /dev/null || skip "sqlite3 (the CLI) is not installed"
if [ -z "${AVC_IN_MOUNT_NS:-}" ]; then
        command -v unshare > /dev/null || skip "unshare (util-linux) is not installed"
        unshare --mount --propagation private true 2> /dev/null ||
                skip "cannot make a private mount namespace (no CAP_SYS_ADMIN?)"
        AVC_IN_MOUNT_NS=1 exec unshare --mount --propagation private bash "$0" "$@"
fi
make_tmpdir
mkdir "$T/small"
mount -t tmpfs -o size=3m,mode=0700 tmpfs "$T/small" || skip "cannot mount a tmpfs"
trap 'avc_rc=$?; umount -l "$T/small" 2> /dev/null; (exit $avc_rc); _cleanup' EXIT

gen=$(dirname "$AVCWATCH_TESTLIB")/../../bench/gen-audit-log.py
now=$(date +%s)
python3 "$gen" --denials 200 --containers 3 --seed 1 --start $((now - 300)) > "$T/1.log"
python3 "$gen" --denials 3000 --containers 3 --seed 2 --start $((now - 200)) > "$T/2.log"
python3 "$gen" --denials 300 --containers 3 --seed 3 --start $((now - 100)) > "$T/3.log"

mkfifo "$T/feed"
exec {feed}<> "$T/feed"
DB=$T/small/db STDIN=$T/feed start_daemon --input -

cat "$T/1.log" >&"$feed"
wait_for 20 stats_at_least denials_seen 200 || fail "the first denials were not read"
wait_for 10 denials_kept 200 || fail "the first 200 denials were not stored: $(avcctl -o json stats)"
rows1=$(stats_field store_denials)

# Full.
dd if=/dev/zero of="$T/small/filler" bs=64k 2> /dev/null || true
cat "$T/2.log" >&"$feed"
wait_for 30 stats_at_least denials_seen 3200 || fail "the daemon stopped reading on a full disk: $(avcctl -o json stats)"
wait_for 10 stats_at_least denials_unstored 3000 || true # the last batch, the last storm summaries
s=$(avcctl -o json stats)
echo "full: $s"
[ "$(json_field "$s" store_failing)" = true ] || fail "store_failing is not set"
json_field "$s" store_error | grep -qi "full" || fail "store_error: $(json_field "$s" store_error)"
[ "$(json_field "$s" denials_unstored)" -eq 3000 ] ||
        fail "denials_unstored $(json_field "$s" denials_unstored), expected exactly 3000"
[ "$(json_field "$s" events_lost)" -eq 3000 ] || fail "events_lost $(json_field "$s" events_lost)"
[ "$(json_field "$s" store_denials)" -eq "$rows1" ] || fail "store_denials changed while full"
python3 - "$s" <<'PY' || fail "no loss window for the failed writes"
import json, sys
s = json.loads(sys.argv[1])
w = s["losses"][-1]
assert w["denials_unstored"] == 3000 and w["records_dropped"] == 0, w
PY
# Queries are still answered.
[ "$(count_lines avcctl -o json query --limit 5)" -eq 5 ] || fail "queries fail while the disk is full"
[ "$(grep -c "Failed to write to the store" "$T/daemon.log")" -eq 1 ] ||
        fail "the failure is not logged exactly once: $(grep -c "Failed to write" "$T/daemon.log")"

# Room again: it stores by itself.
rm -f "$T/small/filler"
cat "$T/3.log" >&"$feed"
wait_for 20 denials_kept 500 || fail "no recovery after the disk had room again: $(avcctl -o json stats)"
[ "$(stats_field store_denials)" -gt "$rows1" ] || fail "nothing stored after the recovery"
s=$(avcctl -o json stats)
[ "$(json_field "$s" store_failing)" = false ] || fail "store_failing still set"
[ "$(json_field "$s" store_error)" = null ] || fail "store_error still set"
grep -q "takes writes again, after .* 3000 denials could not be stored meanwhile" "$T/daemon.log" ||
        fail "the recovery is not logged"
stop_daemon
exec {feed}>&-
[ "$(sqlite3 "$T/small/db" "PRAGMA integrity_check")" = ok ] || fail "integrity_check failed"
echo "disk full: 3000 denials counted unstored, none silently; recovered by itself; file sound"
