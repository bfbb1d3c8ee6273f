#!/usr/bin/env bash
# SIGHUP (systemctl reload) as avcwatchd(8) and docs/configuration.md describe it: the settings
# that change only at the next start are named in the log when the reloaded file changes them
# (every one of them, not only the paths), a reload that changes only [Retention] says nothing
# of the kind and applies it, and an invalid file keeps the running configuration. No root, no
# engines: the engine sockets point at paths where nothing listens.
set -euo pipefail
source "$AVCWATCH_TESTLIB"

make_tmpdir
CONFIG=$T/conf
write_conf() { # DOCKER PODMAN PROCSCAN ACCESSGROUP AUDITLOG MAXAGE
        printf '[Daemon]\nAccessGroup=%s\nAuditLog=%s\n[Engines]\nDocker=%s\nPodman=%s\nProcScan=%s\n[Retention]\nMaxAge=%s\n' \
                "$4" "$5" "$1" "$2" "$3" "$6" > "$CONFIG"
}
reloaded() { [ "$(grep -c 'Configuration reloaded' "$T/daemon.log")" -ge "$1" ]; }

write_conf "$T/docker.sock" "$T/podman.sock" no root "" ""
start_daemon --input /dev/null
wait_for 10 input_eof || fail "the empty input did not end"

# Only retention changes: applied, no restart notice.
write_conf "$T/docker.sock" "$T/podman.sock" no root "" 30d
kill -HUP "$DAEMON_PID"
wait_for 5 reloaded 1 || fail "no reload logged"
grep -q "Retention: MaxAge=2592000 s" "$T/daemon.log" || fail "MaxAge= not applied on reload"
grep -q "next restart" "$T/daemon.log" && fail "a restart notice for a reload-only change"

# Every restart-only setting changed: each is named.
write_conf "$T/other-docker.sock" "" yes nobody /var/log/audit/audit.log 30d
kill -HUP "$DAEMON_PID"
wait_for 5 reloaded 2 || fail "no second reload logged"
notice=$(grep "next restart" "$T/daemon.log" || true)
for key in AccessGroup AuditLog Docker Podman ProcScan; do
        grep -q "$key=" <<< "$notice" || fail "reload did not name $key= as needing a restart: '$notice'"
done
for key in Database Socket Input; do
        grep -q "$key=" <<< "$notice" && fail "reload named $key= that did not change: '$notice'"
done

# An invalid file: refused, the daemon keeps running and answering.
printf '[Engines]\nDocker=relative\n' > "$CONFIG"
kill -HUP "$DAEMON_PID"
wait_for 5 grep -q "Reload failed" "$T/daemon.log" || fail "an invalid file was not refused"
avcctl stats > /dev/null || fail "the daemon does not answer after a refused reload"
stop_daemon
echo "reload: restart-only settings named, retention applied, invalid file refused"
