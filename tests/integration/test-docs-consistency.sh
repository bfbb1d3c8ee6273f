#!/usr/bin/env bash
# The documentation follows the code, and the command lines follow common conventions:
# - every avcctl verb (the verb table in client/avcctl.c) and every long option each verb accepts
#   (its struct option table, FILTER_OPTIONS and GLOBAL_OPTIONS) is in `avcctl --help`, in
#   avcctl(1), and offered by the bash completion, which offers nothing else;
# - every avcwatchd option (daemon/main.c) is in `avcwatchd --help` and avcwatchd(8);
# - every configuration key the parser knows (daemon/service/config.c) is in avcwatchd.conf(5),
#   docs/configuration.md and the installed default configuration, and nothing else is;
# - the default Domains= list (daemon/ingest/domain-filter.c) is the one avcwatchd.conf(5),
#   docs/configuration.md and the default configuration give;
# - --help and --version print to stdout and exit 0; a bad option prints to stderr only and
#   exits 1.
set -euo pipefail
source "$AVCWATCH_TESTLIB"

S=${AVCWATCH_SOURCE_DIR:?}
make_tmpdir

python3 - "$S" "$AVCCTL" "$AVCWATCHD" <<'PY' || fail "documentation and code disagree (see above)"
import os, re, subprocess, sys

src, avcctl, avcwatchd = sys.argv[1:4]
read = lambda p: open(os.path.join(src, p)).read()
errors = []

def options_in(text):
    # entries may be split over lines inside a macro: {  \ "name", required_argument ...
    return set(re.findall(r'\{[\s\\]*"([a-z][a-z-]*)",[\s\\]*(?:no|required|optional)_argument',
                          text))

def man_text(page):
    env = dict(os.environ, MANWIDTH="200", LC_ALL="C.UTF-8")
    return subprocess.run(["man", "-l", os.path.join(src, "man", page)], env=env,
                          capture_output=True, text=True, check=True).stdout

def complete(words):
    script = ('source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($#-1)); _avcctl; '
              'printf "%s\\n" "${COMPREPLY[@]}"')
    out = subprocess.run(["bash", "-c", script, "_", os.path.join(src, "shell-completion/bash/avcctl")]
                         + words, capture_output=True, text=True, check=True).stdout
    return set(out.split())

# ---- avcctl ----
client = read("client/avcctl.c")
table = re.search(r"static const Verb verbs\[\] = \{(.*?)\};", client, re.S).group(1)
verbs = re.findall(r'\{"([a-z-]+)",\s*verb_', table)
assert verbs, "no verb table found"
global_opts = options_in(read("client/verbs.h"))
filter_opts = options_in(read("client/filter-options.h"))
helptext = subprocess.run([avcctl, "--help"], capture_output=True, text=True).stdout
man_avcctl = man_text("avcctl.1")
if set(complete(["avcctl", ""])) != set(verbs):
    errors.append(f"completion offers verbs {sorted(complete(['avcctl', '']))}, avcctl has {verbs}")
for verb in verbs:
    path = f"client/verb-{verb}.c"
    body = read(path) if os.path.exists(os.path.join(src, path)) else ""
    opts = options_in(body) | (filter_opts if "FILTER_OPTIONS" in body else set())
    if not re.search(rf"^\s+{verb}\b", helptext, re.M):
        errors.append(f"avcctl --help does not list the verb {verb}")
    if not re.search(rf"^\s+{verb}\b", man_avcctl, re.M):
        errors.append(f"avcctl(1) does not describe the verb {verb}")
    offered = {w for w in complete(["avcctl", verb, "--"]) if w.startswith("--")}
    want = {"--" + o for o in opts | global_opts}
    if offered != want:
        errors.append(f"completion for '{verb}': missing {sorted(want - offered)}, "
                      f"extra {sorted(offered - want)}")
    for o in opts | global_opts:
        if "--" + o not in man_avcctl:
            errors.append(f"avcctl(1) does not mention --{o} ({verb})")
        if "--" + o not in helptext:
            errors.append(f"avcctl --help does not mention --{o} ({verb})")

# ---- avcwatchd ----
dopts = options_in(read("daemon/main.c"))
dhelp = subprocess.run([avcwatchd, "--help"], capture_output=True, text=True).stdout
man_d = man_text("avcwatchd.8")
for o in dopts:
    if "--" + o not in dhelp:
        errors.append(f"avcwatchd --help does not mention --{o}")
    if "--" + o not in man_d:
        errors.append(f"avcwatchd(8) does not mention --{o}")

# ---- configuration keys ----
keys = set(re.findall(r'strcmp\(key, "([A-Za-z]+)"\)', read("daemon/service/config.c")))
assert keys, "no keys found in daemon/service/config.c"
man_conf = man_text("avcwatchd.conf.5")
doc_conf = read("docs/configuration.md")
default_conf = read("systemd/avcwatchd.conf")
man_keys = set(re.findall(r"^\s{7}([A-Z][A-Za-z]+)=", man_conf, re.M))
def_keys = set(re.findall(r"^#([A-Z][A-Za-z]+)=", default_conf, re.M))
doc_keys = set(re.findall(r"^\| `\[[A-Za-z]+\] ([A-Za-z]+)=`", doc_conf, re.M))
for name, found in [("avcwatchd.conf(5)", man_keys), ("systemd/avcwatchd.conf", def_keys),
                    ("docs/configuration.md's table", doc_keys)]:
    if found != keys:
        errors.append(f"{name}: missing {sorted(keys - found)}, unknown {sorted(found - keys)}")

# The default Domains= list (daemon/ingest/domain-filter.c) is the one every document names.
body = re.search(r'domain_patterns_default\[\] = \{(.*?)\};', read("daemon/ingest/domain-filter.c"), re.S)
default = re.findall(r'"([^"]+)"', body.group(1)) if body else []
if not default:
    errors.append("no domain_patterns_default in daemon/ingest/domain-filter.c")
man = re.search(r'Default:\n\.B (.*?)\n\.B (.*?)\\fR', read("man/avcwatchd.conf.5"))
for name, found in [
        ("systemd/avcwatchd.conf", re.search(r'^#Domains=(.*)$', read("systemd/avcwatchd.conf"), re.M)),
        ("docs/configuration.md", re.search(r'^Domains=(.*)$', read("docs/configuration.md"), re.M)),
        ("avcwatchd.conf(5)", man and (man.group(1) + " " + man.group(2)))]:
    text = found if isinstance(found, str) or not found else found.group(1)
    if not text or text.split() != default:
        errors.append(f"{name}: default Domains= is {text!r}, the code's is {' '.join(default)!r}")

for e in errors:
    print("MISMATCH:", e)
print(f"{len(verbs)} verbs, {len(dopts)} daemon options, {len(keys)} configuration keys checked")
sys.exit(1 if errors else 0)
PY

# ---- conventions ----
for prog in "$AVCCTL" "$AVCWATCHD"; do
        name=$(basename "$prog")
        "$prog" --help > "$T/out" 2> "$T/err" || fail "$name --help exits non-zero"
        [ -s "$T/out" ] && [ ! -s "$T/err" ] || fail "$name --help does not print to stdout only"
        head -1 "$T/out" | grep -q "$name" || fail "$name --help does not start with a usage line"
        "$prog" -h | cmp -s - "$T/out" || fail "$name -h differs from --help"
        "$prog" --version > "$T/out" 2> "$T/err" || fail "$name --version exits non-zero"
        grep -qx "$name [0-9]\+\.[0-9]\+\.[0-9]\+" "$T/out" && [ ! -s "$T/err" ] ||
                fail "$name --version prints '$(cat "$T/out")', expected '$name X.Y.Z'"
        rc=0
        "$prog" --no-such-option > "$T/out" 2> "$T/err" || rc=$?
        [ "$rc" -eq 1 ] || fail "$name --no-such-option exits $rc, expected 1"
        [ ! -s "$T/out" ] && [ -s "$T/err" ] || fail "$name: a bad option is not reported on stderr only"
done
rc=0
"$AVCCTL" no-such-verb > "$T/out" 2> "$T/err" || rc=$?
[ "$rc" -eq 1 ] && [ ! -s "$T/out" ] && grep -q "unknown verb" "$T/err" || fail "unknown verb: exit $rc"
"$AVCCTL" query --help | cmp -s - <("$AVCCTL" --help) || fail "avcctl VERB --help is not the help"
echo PASS
