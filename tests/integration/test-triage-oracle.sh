#!/usr/bin/env bash
# The triage stage's reason against audit2why itself, record by record (docs/triage.md).
#
# Both read the same binary policy: refpolicy (selinux-policy-default) with refpolicy's own
# container module built from selinux-policy-src, as the SELinux guest does
# (tests/selinux-guest/build-image.sh), installed with `semodule -p` into a private copy of the
# module store, so that no SELinux needs to be enabled here and the host's store is not touched.
# The policy is built once (about 30 s) and cached under the build directory, keyed by the
# versions of the packages it comes from.
#
# The records cover every reason this policy can give: te (and a dontaudit'd one), boolean
# (container_manage_cgroup, container_use_nfs), constraint (the MCS constraint between c1,c2 and
# c3,c4), rbac, allowed, unknown (type, class, permission). bounds needs a typebounds rule, which
# refpolicy has none of. Further records repeat questions with other category pairs, which the
# cache answers without computing: they must still agree with audit2why. Our boolean search flips
# only the booleans whose rules could allow the question: it is run flipping all of them too.
#
# Then the damaged-policy cases: a missing, empty, truncated and garbage file, and a directory,
# each a clear error, never a crash; and 40 copies of the policy with bits flipped, each loaded
# and answering or refused with a clear error.
set -euo pipefail
source "$AVCWATCH_TESTLIB"

TRIAGE=${AVCWATCH_TRIAGE:-$AVCWATCH_BUILD_DIR/tools/avcwatch-triage}
[ -x "$TRIAGE" ] || fail "no avcwatch-triage at $TRIAGE"

source "$(dirname "${BASH_SOURCE[0]}")/triage-policy.sh"
need audit2why policycoreutils-python-utils
make_tmpdir
triage_policy_build # sets $policy, skips without the packages it needs

# --- the records: one table, written as AVC records for audit2why and as questions for us --------
c=system_u:system_r:container_t
o=system_u:object_r
cat > "$T/cases.tsv" << EOF
# serial	scontext	tcontext	class	permissions	(what it is meant to show)
101	$c:s0:c1,c2	$o:cgroup_t:s0	dir	write add_name create	boolean container_manage_cgroup
102	$c:s0:c1,c2	$o:nfs_t:s0	file	read open	boolean container_use_nfs
103	$c:s0:c1,c2	$o:container_file_t:s0:c3,c4	file	read open	constraint: MCS
104	$c:s0:c1,c2	$c:s0:c3,c4	process	signal	constraint: MCS, process
105	$c:s0:c1,c2	$o:memory_device_t:s0	chr_file	read	te: /dev/mem
106	$c:s0:c1,c2	$o:default_t:s0	dir	write add_name	te: an unlabelled bind mount
107	$c:s0:c1,c2	$o:sysctl_kernel_t:s0	file	write	te: /proc/sys
108	$c:s0:c1,c2	$o:etc_runtime_t:s0	file	write	te, dontaudit'd
109	$c:s0:c1,c2	$o:bogus_t:s0	file	read	unknown type
110	$c:s0:c1,c2	$o:memory_device_t:s0	chr_file	frob	unknown permission
111	$c:s0:c1,c2	$o:memory_device_t:s0	widget	read	unknown class
112	$c:s0:c1,c2	$o:container_file_t:s0:c1,c2	file	read open	allowed
113	$c:s0:c1,c2	$o:container_file_t:s0	file	read	allowed: s0 is dominated
114	root:staff_r:newrole_t:s0	root:system_r:sysadm_t:s0	process	transition	rbac
115	system_u:system_r:container_engine_t:s0-s0:c0.c1023	$o:container_file_t:s0:c5,c9	file	read write	allowed: a range
116	$c:s0:c1,c2	$o:container_file_t:s0:c1,c2000	file	read	unknown: category out of range
201	$c:s0:c7,c8	$o:cgroup_t:s0	dir	write add_name create	cache: as 101
202	$c:s0:c17,c18	$o:container_file_t:s0:c3,c4	file	read open	cache: as 103
203	$c:s0:c3,c4	$o:container_file_t:s0:c3,c4	file	read open	cache: as 112
204	$c:s0:c3,c4	$o:container_file_t:s0:c3	file	read open	not as 112: h1 dom h2 strictly
205	$c:s0:c3	$o:container_file_t:s0:c3,c4	file	read open	not as 112: h1 domby h2
206	$c:s0:c1,c2	$c:s0:c5,c6	process	signal	cache: as 104
207	$c:s0:c9,c10	$o:nfs_t:s0	file	read open	cache: as 102
208	$c:s0:c1,c2	$o:bogus_t:s0	file	read	again: as 109
EOF

python3 - "$T/cases.tsv" "$T/audit.log" "$T/questions.tsv" << 'PY'
import sys
cases, log, questions = sys.argv[1:]
with open(cases) as f, open(log, "w") as a, open(questions, "w") as q:
    for line in f:
        if line.startswith("#") or not line.strip():
            continue
        serial, scon, tcon, tclass, perms, _ = line.rstrip("\n").split("\t")
        a.write(f'type=AVC msg=audit(1700000000.{int(serial) % 1000:03d}:{serial}): avc:  denied  '
                f'{{ {perms} }} for  pid=4242 comm="probe" scontext={scon} tcontext={tcon} '
                f'tclass={tclass} permissive=0\n')
        q.write("\t".join([serial, scon, tcon, tclass, perms]) + "\n")
PY

audit2why -p "$policy" -i "$T/audit.log" > "$T/audit2why.out" 2> "$T/audit2why.err" || {
        cat "$T/audit2why.err"
        fail "audit2why failed"
}
"$TRIAGE" "$policy" < "$T/questions.tsv" > "$T/triage.out" 2> "$T/triage.err" || {
        cat "$T/triage.err"
        fail "avcwatch-triage failed"
}
# The boolean search flips only the booleans whose rules could allow the question; audit2why
# flips all of them. Both ways must give the same answers.
"$TRIAGE" --exhaustive "$policy" < "$T/questions.tsv" > "$T/exhaustive.out" 2> /dev/null ||
        fail "avcwatch-triage --exhaustive failed"
diff -u "$T/exhaustive.out" "$T/triage.out" ||
        fail "the pruned boolean search answers differently from flipping every boolean"

python3 - "$T/cases.tsv" "$T/audit2why.out" "$T/triage.out" "$T/triage.err" \
        "$(dirname "${BASH_SOURCE[0]}")" << 'PY' ||
import re, sys
cases_path, why_path, ours_path, err_path, here = sys.argv[1:]
sys.path.insert(0, here)
from audit2why_output import parse, reason_of  # noqa: E402

cases = {}
for line in open(cases_path):
    if line.startswith("#") or not line.strip():
        continue
    f = line.rstrip("\n").split("\t")
    cases[f[0]] = f[5]

why = {e["serial"]: e for e in parse(open(why_path).read())}

ours = {}
for line in open(ours_path):
    serial, reason, booleans, verdict = line.rstrip("\n").split("\t")
    ours[serial] = (reason, set() if booleans == "-" else set(booleans.split(",")), verdict)

bad = differ = 0
print(f"{'serial':<7}{'audit2why':<12}{'avcwatch':<12}{'verdict':<11}booleans / case")
for serial, what in cases.items():
    if serial in why:
        w_reason, w_bools = reason_of(why[serial]), why[serial]["booleans"]
    else:
        w_reason, w_bools = "unknown", set()
    o_reason, o_bools, verdict = ours.get(serial, ("(none)", set(), "-"))
    same = w_reason == o_reason and w_bools == o_bools
    bad += not same
    differ += not same
    print(f"{serial:<7}{w_reason:<12}{o_reason:<12}{verdict:<11}"
          f"{','.join(sorted(w_bools)) or '-'}  ({what}){'' if same else '   <-- DIFFERS'}"
          + ("" if w_bools == o_bools else f" ours: {','.join(sorted(o_bools))}"))

# The set must cover what it claims to, or the comparison proves less than it says.
reasons = {reason_of(why[s]) if s in why else "unknown" for s in cases}
missing = {"te", "boolean", "constraint", "rbac", "allowed", "unknown"} - reasons
if missing:
    print(f"the records no longer cover: {', '.join(sorted(missing))}")
    bad += 1
all_bools = set().union(*(w["booleans"] for w in why.values()))
for b in ("container_manage_cgroup=1", "container_use_nfs=1"):
    if b not in all_bools:
        print(f"no record shows {b}")
        bad += 1
if len(ours) != len(cases):
    print(f"{len(cases)} questions, {len(ours)} answers")
    bad += 1

# The repeated questions (2xx) came from the cache.
m = re.search(r"hits=(\d+) misses=(\d+)", open(err_path).read())
hits = int(m.group(1)) if m else 0
print(f"cache: {m.group(0) if m else 'no counters'}")
if hits < 6:
    print("the repeated questions were not answered from the cache")
    bad += 1
print(f"{len(cases)} records, {len(cases) - differ} equal to audit2why")
sys.exit(1 if bad else 0)
PY
        fail "avcwatch-triage differs from audit2why, or the records prove less than they should"

# --- damaged or missing policies: a clear error, never a crash ----------------------------------
printf '1\t%s\t%s\tfile\tread\n' "$c:s0:c1,c2" "$o:etc_t:s0" > "$T/one.tsv"
: > "$T/empty"
head -c 100000 "$policy" > "$T/truncated"
head -c 65536 /dev/urandom > "$T/garbage"
# a real header with the rest damaged: the first 4 KiB of the policy, then random bytes
{ head -c 4096 "$policy"; head -c 200000 /dev/urandom; } > "$T/damaged"
mkdir "$T/dir"
for bad in "$T/missing" "$T/empty" "$T/truncated" "$T/garbage" "$T/damaged" "$T/dir"; do
        set +e
        "$TRIAGE" "$bad" < "$T/one.tsv" > "$T/bad.out" 2> "$T/bad.err"
        rc=$?
        set -e
        [ $rc -eq 1 ] || fail "$(basename "$bad") policy: exit status $rc, expected 1 (a clear error)"
        grep -q "Failed to load policy" "$T/bad.err" ||
                fail "$(basename "$bad") policy: no clear message: $(cat "$T/bad.err")"
        echo "$(basename "$bad"): $(cat "$T/bad.err")"
done
# Bit flips anywhere in a real policy (a fixed seed): each either loads and answers or is
# refused; neither libsepol nor we may crash on it (150 such files passed under ASan + UBSan).
python3 - "$policy" "$T/flip" << 'PY'
import os, random, sys
data = open(sys.argv[1], "rb").read()
os.mkdir(sys.argv[2])
random.seed(12)
for i in range(40):
    d = bytearray(data)
    for _ in range(random.choice([1, 2, 8])):
        off = random.randrange(len(d) if i % 3 else min(len(d), 20000))
        d[off] ^= 1 << random.randrange(8)
    open(os.path.join(sys.argv[2], f"p{i}"), "wb").write(d)
PY
loaded=0
for f in "$T"/flip/p*; do
        set +e
        "$TRIAGE" "$f" < "$T/questions.tsv" > /dev/null 2> "$T/flip.err"
        rc=$?
        set -e
        case $rc in
        0) loaded=$((loaded + 1)) ;;
        1) grep -q "Failed to load policy" "$T/flip.err" ||
                fail "$(basename "$f"): refused without a clear message: $(head -3 "$T/flip.err")" ;;
        *) fail "$(basename "$f") (bit flips): exit status $rc: $(head -5 "$T/flip.err")" ;;
        esac
done
echo "40 policies with flipped bits: $loaded loaded and answered, the rest refused"
echo "PASS"
