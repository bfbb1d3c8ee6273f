# SPDX-License-Identifier: MIT
"""audit2why's output, record by record, as the triage stage's reasons (docs/triage.md).

Shared by the two oracles that compare avcwatch's triage with audit2why itself:
tests/integration/test-triage-oracle.sh (made-up records, a policy file) and the SELinux guest's
check.py (the guest's real records, the policy its kernel runs).

audit2why (audit2allow -w, its __output_audit2why) prints, for each AVC record it understood, the
record's line, then "Was caused by:" and the text of one of its outcomes. Records whose context,
class or permission the policy does not know raise inside sepolgen and are left out: for those
the reason is "unknown".
"""
import re

AVC = re.compile(r"type=AVC msg=audit\([0-9.]+:(\d+)\)")


def parse(text):
    """The records of audit2why's output, in order: dicts with the record's line ("line"), its
    audit serial ("serial", a string), the text that follows it ("text") and the booleans it
    would set, as NAME=VALUE ("booleans", a set)."""
    out = []
    cur = None
    for line in text.splitlines(keepends=True):
        m = AVC.match(line)
        if m:
            cur = {"line": line.rstrip("\n"), "serial": m.group(1), "text": "",
                   "booleans": set()}
            out.append(cur)
            continue
        if cur is None:
            continue
        cur["text"] += line
        m = re.search(r"# setsebool -P (\S+) (\d)", line)
        if m:
            cur["booleans"].add(f"{m.group(1)}={m.group(2)}")
    return out


def reason_of(entry):
    """The triage reason audit2why's text for one record stands for ("?" if none)."""
    t = entry["text"]
    if entry["booleans"]:
        return "boolean"
    for needle, reason in (("would be allowed by active policy", "allowed"),
                           ("should be dontaudit'd", "te"),
                           ("Missing type enforcement (TE) allow rule", "te"),
                           ("#Constraint rule:", "constraint"),
                           ("Missing role allow rule", "rbac"),
                           ("Typebounds violation", "bounds")):
        if needle in t:
            return reason
    return "?"
