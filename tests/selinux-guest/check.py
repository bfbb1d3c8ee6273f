#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Judges one run of the SELinux guest from what came back over its second serial port.

Usage: check.py RUN_DIR [REPLAY_JSON]

RUN_DIR holds the decoded sections the guest sent (see guest/.../workload): the kernel's own
records (audit.log, written by auditd with log_format=RAW, i.e. exactly what the kernel sent),
the daemon's API output (query-json, query-raw, stats, produced by avcctl inside the guest against
the avcwatchd that systemd started from the project's unit) and the ground truth the workload
recorded (container ids, labels, pids). REPLAY_JSON, when given, is `avcctl -o json query` of a
host avcwatchd that imported RUN_DIR/audit.log (`--input FILE`).

Every assertion prints what it checked; the first failure raises with the evidence. Exit status 0
when all pass, 1 otherwise.
"""
import json
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'integration'))
import audit2why_output  # noqa: E402  (the oracle's reading of audit2why, shared)

STAMP = re.compile(r'msg=audit\((\d+)\.(\d+):(\d+)\)')
CONTAINER_T = re.compile(r'scontext=\S+:container_t:(s0(?::\S+)?)(\s|$)')

failures = []


def check(cond, what, evidence=''):
    print(('ok   ' if cond else 'FAIL ') + what)
    if not cond:
        if evidence:
            print('     ' + str(evidence).replace('\n', '\n     '))
        failures.append(what)
    return cond


def read(run, name):
    with open('%s/%s' % (run, name), 'rb') as f:
        return f.read()


def mcs_of(label):
    """'system_u:system_r:container_t:s0:c1,c2' -> 'c1,c2' ('' for s0)."""
    parts = label.split(':')
    return parts[4] if len(parts) > 4 else ''


def main():
    run = sys.argv[1]
    replay = sys.argv[2] if len(sys.argv) > 2 else None

    # --- the kernel's records (auditd RAW: one record per line, exactly as sent) -------------
    audit = read(run, 'audit.log').decode('utf-8', 'surrogateescape')
    lines = audit.split('\n')
    if lines and lines[-1] == '':
        lines.pop()
    events = {}      # serial -> [lines in arrival order]
    kernel = []      # (serial, AVC line) of every container_t denial, in order
    for l in lines:
        m = STAMP.search(l)
        if not m:
            continue
        serial = int(m.group(3))
        events.setdefault(serial, []).append(l)
        if l.startswith('type=AVC ') and CONTAINER_T.search(l):
            kernel.append((serial, l))

    # --- the daemon's answers -----------------------------------------------------------------
    stored = [json.loads(l) for l in read(run, 'query-json').decode().splitlines() if l.strip()]
    mine = [d for d in stored if d.get('source_type') == 'container_t']
    stats = json.loads(read(run, 'stats').decode())
    truth = {}
    pods = {}
    for l in read(run, 'truth').decode().splitlines():
        f = l.split()
        if f[0] == 'podman':   # podman NAME ID LABEL PID IMAGE
            pods[f[1]] = {'id': f[2], 'mcs': mcs_of(f[3]), 'pid': int(f[4]), 'image': f[5],
                          'engine': 'podman', 'name': f[1]}
        elif f[0] == 'docker':  # docker ID LEVEL PID
            pods['docker'] = {'id': f[1], 'mcs': f[2].split(':', 1)[1],
                              'pid': int(f[3]), 'engine': 'docker', 'name': None}
        else:
            truth[f[0]] = f[1:]
    exec_comm, exec_in = truth['exec_comm']
    by_mcs = {c['mcs']: c for c in pods.values()}

    print('kernel: %d container_t denials in %d events; daemon: %d stored, %d container_t'
          % (len(kernel), len({s for s, _ in kernel}), len(stored), len(mine)))

    # The workload really produced what it was meant to (else equal counts prove nothing).
    check(set(pods) == {'alpha', 'beta', 'docker'} and len(by_mcs) == 3,
          'three containers with three different MCS labels', pods)

    def kernel_of(c):
        return [l for _, l in kernel if ':container_t:s0:%s ' % c['mcs'] in l]
    for name, least in (('alpha', 5), ('beta', 2), ('docker', 5)):
        check(len(kernel_of(pods[name])) >= least,
              'the kernel denied %s at least %d times' % (name, least), kernel_of(pods[name]))
    beta_file = 'tcontext=system_u:object_r:container_file_t:s0:%s ' % pods['beta']['mcs']
    mcs_only = [l for l in kernel_of(pods['alpha']) if beta_file in l and 'name="beta-data"' in l]
    check(len(mcs_only) >= 2, 'MCS-only denials: alpha read beta\'s own file (container_file_t:s0:%s)'
          % pods['beta']['mcs'], kernel_of(pods['alpha']))
    exec_lines = [l for l in kernel_of(pods[exec_in]) if 'comm="%s" ' % exec_comm in l]
    check(len(exec_lines) == 2, 'two denials from the exec in %s that was gone before the '
          'frozen daemon looked (comm="%s")' % (exec_in, exec_comm), kernel_of(pods[exec_in]))
    check(all('permissive=0' in l for _, l in kernel), 'container_t is enforcing (permissive=0)')

    # The reference is whole: the kernel says when it loses audit records (audit_lost=,
    # backlog limit exceeded, rate limit exceeded, kauditd hold queue overflow).
    klog = read(run, 'dmesg').decode('utf-8', 'replace')
    lost = [l for l in klog.splitlines()
            if re.search(r'audit_lost=|backlog limit exceeded|rate limit exceeded|'
                         r'hold queue overflow', l)]
    check('audit: type=1400' in klog and not lost,
          'the kernel lost no audit record on its way to auditd (its log says none)', lost[:3])

    # 1. Every container_t denial the kernel emitted is stored, once.
    check(len(mine) == len(kernel), 'stored container_t denials == the kernel\'s (%d)' % len(kernel),
          'stored %d' % len(mine))
    per_serial_k, per_serial_s = {}, {}
    for s, _ in kernel:
        per_serial_k[s] = per_serial_k.get(s, 0) + 1
    for d in mine:
        per_serial_s[d['serial']] = per_serial_s.get(d['serial'], 0) + 1
    check(per_serial_k == per_serial_s, 'same denials per audit event serial',
          {s: (per_serial_k.get(s), per_serial_s.get(s))
           for s in set(per_serial_k) | set(per_serial_s) if per_serial_k.get(s) != per_serial_s.get(s)})

    # 2. raw: each stored event is the kernel's records byte for byte, and avcctl -o raw
    #    prints exactly those events.
    bad = [(d['serial'], d['raw'], events.get(d['serial'])) for d in mine
           if d['raw'].split('\n') != events.get(d['serial'])]
    check(not bad, 'each denial\'s raw == the kernel\'s records of its event, byte for byte',
          bad[:2])
    serials = []
    for d in stored:
        if not serials or serials[-1] != d['serial']:
            serials.append(d['serial'])
    want = ''.join('\n'.join(events.get(s, [])) + '\n' for s in serials)
    got = read(run, 'query-raw').decode('utf-8', 'surrogateescape')
    check(got == want, 'avcctl -o raw query == the kernel\'s records of the stored events',
          'got %d bytes, want %d' % (len(got), len(want)))

    # 3. Attribution: every denial names the right container, by pid while its process was
    #    alive, by MCS + time when it was not; with podman's name and image, also for beta,
    #    which was removed before the queries; the cross-container denials name the target.
    wrong = []

    def same(got, c, d):
        if not got or got.get('id') != c['id'] or got.get('engine') != c['engine']:
            return False
        if c['engine'] == 'podman':   # named by podman's API (the registry)
            return got.get('name') == c['name'] and got.get('image') == c['image']
        return True

    for d in mine:
        c = by_mcs.get(d['mcs'] or '')
        if c is None:
            wrong.append(('unknown MCS', d['mcs'], d['raw']))
            continue
        got_c = d.get('container')
        if d['pid'] == c['pid']:
            want = ('pid',)           # the container's main process, alive to the end
        elif c is pods[exec_in] and d['comm'] == exec_comm:
            want = ('mcs',)           # dead before the (frozen) daemon looked
        else:
            want = ('pid', 'mcs')     # a short-lived child racing the lookup
        if d['attribution'] not in want or not same(got_c, c, d):
            wrong.append(('want %s %s %s' % ('/'.join(want), c['id'], c['name']),
                          d['attribution'], got_c, d['raw']))
        tgt = by_mcs.get(mcs_of(d['tcontext'])) if ':container_file_t:' in d['tcontext'] else None
        if tgt is not None and tgt is not c:
            if not same(d.get('target_container'), tgt, d):
                wrong.append(('want target %s' % tgt['name'], d.get('target_container'), d['raw']))
        elif d.get('target_container') is not None:
            wrong.append(('want no target', d.get('target_container'), d['raw']))
    check(not wrong, 'every denial names its container (id, engine; podman: name, image): '
          'by pid when alive, by mcs when gone; cross-container denials name the target',
          '\n'.join(map(str, wrong[:4])))
    n_by = {}
    for d in mine:
        n_by[d['attribution']] = n_by.get(d['attribution'], 0) + 1
    check(n_by.get('pid', 0) >= 9 and n_by.get('mcs', 0) >= 2 and
          set(n_by) <= {'pid', 'mcs'},
          'attributions: %s (the 9 of the main processes by pid, the exec\'s 2 by mcs, '
          'none unattributed or ambiguous)' % n_by)
    n_beta = sum(1 for d in mine if (d.get('container') or {}).get('name') == 'beta')
    check(n_beta == len(kernel_of(pods['beta'])),
          'removed container beta: all %d of its denials still carry its name'
          % len(kernel_of(pods['beta'])), n_beta)
    n_tgt = sum(1 for d in mine if (d.get('target_container') or {}).get('name') == 'beta')
    check(n_tgt >= 3, 'the MCS-only denials (alpha, the exec, docker-style) name beta as '
          'target_container (%d)' % n_tgt)

    # The registry lists them, beta as removed.
    reg = {c['id']: c for c in
           (json.loads(l) for l in read(run, 'containers').decode().splitlines() if l.strip())}
    for name in ('alpha', 'beta', 'docker'):
        c = pods[name]
        r = reg.get(c['id'])
        check(r is not None and r.get('mcs') == c['mcs'] and
              (c['engine'] != 'podman' or (r.get('name') == c['name'] and
                                          r.get('image') == c['image'])) and
              (name != 'beta' or (r.get('removed') is not None and r.get('running') is False)),
              'avcctl containers: %s (%s)%s' % (name, c['mcs'],
                                                ', removed' if name == 'beta' else ''), r)

    # 4. Triage: each denial's reason and booleans, computed by the daemon from the policy the
    #    guest's kernel runs, equal what audit2why (run in the guest on the same records, against
    #    the same loaded policy) says: audit2why ran once before the live boolean change
    #    (setsebool container_manage_cgroup 1) and once after it, and each denial is compared with
    #    the run under the policy it was made under. The escape attempts are stored as escapes.
    def audit2why_run(name):
        why = {}
        for e in audit2why_output.parse(read(run, name).decode('utf-8', 'replace')):
            why.setdefault(e['line'].strip(), e)
        check(read(run, name + '.rc').strip() == b'0' and why,
              'audit2why ran in the guest (%s: %d records explained)' % (name, len(why)),
              read(run, name).decode('utf-8', 'replace')[-2000:])
        return why
    why_before, why_after = audit2why_run('audit2why'), audit2why_run('audit2why-after')
    change = [int(STAMP.search(l).group(3)) for l in lines
              if l.startswith('type=MAC_CONFIG_CHANGE ') and
              'bool=container_manage_cgroup val=1 old_val=0' in l]
    check(len(change) == 1, 'the kernel reported the live boolean change (MAC_CONFIG_CHANGE '
          'container_manage_cgroup 0 -> 1)', change)
    change = change[0] if change else 1 << 62
    journal = read(run, 'journal').decode('utf-8', 'replace')
    check('Triage: policy /sys/fs/selinux/policy loaded (policy load record)' in journal,
          'the daemon read the kernel\'s policy again on that record (its log line)',
          [l for l in journal.splitlines() if 'Triage' in l])

    def avc_line(d):
        perms = '{ %s }' % ' '.join(d['permissions'])
        lines_ = [l for l in d['raw'].split('\n') if l.startswith('type=AVC ')]
        mine_ = [l for l in lines_ if perms in l and 'tcontext=%s ' % d['tcontext'] in l and
                 'tclass=%s ' % d['tclass'] in l]
        return (mine_ or lines_ or [''])[0].strip()

    def answer(why, d):
        e = why.get(avc_line(d))
        if e is None:
            return 'unknown', []
        return (audit2why_output.reason_of(e),
                sorted(b.split('=')[0] for b in e['booleans']))

    rows, differ = [], []
    for d in mine:
        after = d['serial'] > change
        w_reason, w_bools = answer(why_after if after else why_before, d)
        o_bools = sorted(d.get('booleans') or [])
        same = d.get('reason') == w_reason and o_bools == w_bools
        rows.append('%-6s %-6s %-10s %-10s %-10s %-24s %s %s { %s }%s' % (
            d['serial'], 'after' if after else 'before', w_reason, d.get('reason'),
            d.get('verdict'), ','.join(w_bools) or '-', d['target_type'], d['tclass'],
            ' '.join(d['permissions']),
            '' if same else '   <-- DIFFERS (ours: %s)' % (','.join(o_bools) or '-')))
        if not same:
            differ.append(rows[-1])
    print('     serial policy audit2why  avcwatch   verdict    booleans                 target')
    for r in rows:
        print('     ' + r)
    check(mine and not differ, '%d of %d container_t denials: reason and booleans equal to '
          'audit2why\'s in the guest, under the policy of their time' %
          (len(mine) - len(differ), len(mine)), '\n'.join(differ))
    # avcctl explain, after the change, asked the policy loaded then about every stored denial
    # again: the daemon's answer now must be audit2why's after the change.
    explained = {}
    for l in read(run, 'explain').decode().splitlines():
        if l.strip():
            e = json.loads(l)
            explained[(e['denial']['serial'], avc_line(e['denial']))] = e
    now_differ = []
    for d in mine:
        e = explained.get((d['serial'], avc_line(d)))
        w_reason, w_bools = answer(why_after, d)
        got = (e.get('reason_now'), sorted(e.get('booleans_now') or [])) if e else None
        if got != (w_reason, w_bools):
            now_differ.append((d['serial'], d['target_type'], 'audit2why after:', w_reason,
                               w_bools, 'explain:', got))
    check(read(run, 'explain.rc').strip() == b'0' and mine and not now_differ,
          'avcctl explain after the change: reason_now == audit2why\'s after the change for all '
          '%d denials' % len(mine), '\n'.join(map(str, now_differ)) or read(run, 'explain')[-500:])
    n_after = sum(1 for d in mine if d['serial'] > change)
    check(n_after >= 1, 'denials after the live change were triaged under the new policy (%d)'
          % n_after)
    reasons = {d.get('reason') for d in mine}
    check({'te', 'constraint', 'boolean'} <= reasons,
          'the real denials cover the reasons te, constraint and boolean (%s)'
          % ', '.join(sorted(map(str, reasons))))
    cg = [d for d in mine if d['target_type'] == 'cgroup_t']
    check(cg and all(d.get('booleans') == ['container_manage_cgroup'] and
                     d.get('verdict') == 'boolean' for d in cg),
          'the docker-style container\'s mkdir in /sys/fs/cgroup: boolean container_manage_cgroup, '
          'verdict boolean', [(d.get('booleans'), d.get('verdict')) for d in cg])
    cg_now = [(explained.get((d['serial'], avc_line(d))) or {}).get('reason_now') for d in cg]
    check(cg and all(answer(why_after, d)[0] == 'allowed' for d in cg) and
          cg_now == ['allowed'] * len(cg) and truth.get('cgroup_mkdir_after_boolean') == ['1'],
          'with the boolean on, audit2why and avcctl explain (reason_now) say "allowed" for that '
          'denial, and the same mkdir succeeds: the boolean avcwatch named is the one that allows it',
          ([answer(why_after, d) for d in cg], cg_now, truth.get('cgroup_mkdir_after_boolean')))
    mcs = [d for d in mine if d['target_type'] == 'container_file_t']
    check(mcs and all(d.get('reason') == 'constraint' and d.get('verdict') == 'isolation'
                      for d in mcs),
          'the MCS-only reads of beta\'s file: reason constraint, verdict isolation (%d)' % len(mcs),
          [(d.get('reason'), d.get('verdict')) for d in mcs])
    for what, pick in (('a read of /dev/mem', lambda d: d['target_type'] == 'memory_device_t'),
                       ('a write under /proc/sys', lambda d: d['target_type'].startswith('sysctl')
                        and 'write' in d['permissions'])):
        esc = [d for d in mine if pick(d)]
        check(esc and all(d.get('verdict') == 'escape' and d.get('hint') for d in esc),
              'the escape attempt (%s, a real kernel denial): verdict escape, with a hint' % what,
              [(d['target_type'], d['permissions'], d.get('verdict')) for d in esc] or 'no such denial')
    n_verdict = {}
    for d in mine:
        n_verdict[d.get('verdict')] = n_verdict.get(d.get('verdict'), 0) + 1
    check(all(stats.get('verdict_%s' % v, -1) >= n for v, n in n_verdict.items() if v) and
          stats.get('triage_none') == 0,
          'stats counts each verdict (%s), none untriaged' % n_verdict, stats)

    # 5. No loss, nothing malformed.
    for k in ('events_lost', 'netlink_enobufs', 'netlink_dropped', 'serials_missed',
              'denials_unstored', 'store_errors', 'events_evicted', 'records_malformed',
              'loss_windows'):
        check(stats.get(k) == 0, 'stats %s == 0' % k, stats)
    check(stats.get('store_failing') is False, 'stats store_failing == false', stats)

    # 6. The daemon ran as a host runs it: systemd started it from the project's unit, in its
    #    own SELinux domain, and it stopped cleanly.
    def props(name):  # systemctl show's lines (the first of each key: systemctl cat follows)
        d = {}
        for l in read(run, name).decode().splitlines():
            if '=' in l:
                d.setdefault(*l.split('=', 1))
        return d
    unit, stop = props('unit'), props('stop')
    boot = read(run, 'boot').decode()
    # (/lib is /usr/lib on Debian 12; systemd says either)
    check(unit.get('FragmentPath') in ('/usr/lib/systemd/system/avcwatchd.service',
                                       '/lib/systemd/system/avcwatchd.service') and
          unit.get('Type') == 'notify' and 'path=/usr/sbin/avcwatchd ' in unit.get('ExecStart', '')
          and unit.get('ActiveState') == 'active' and unit.get('NRestarts') == '0',
          'systemd ran the installed avcwatchd.service (Type=notify, /usr/sbin/avcwatchd), '
          'active, never restarted', unit)
    socks = read(run, 'sockets').decode()
    api = socks.split('\n\n')[0]
    check('Id=avcwatchd.socket' in api and 'ActiveState=active' in api,
          'the API socket came from the installed avcwatchd.socket', socks)
    print('     (the kernel audit socket: %s)' % ' '.join(
        l for l in socks.split('\n\n')[-1].splitlines() if l.startswith(('Id=', 'ActiveState='))))
    check('avcwatchd=system_u:system_r:avcwatchd_t:s0' in boot,
          'avcwatchd ran in its own domain avcwatchd_t (selinux/avcwatch.te)', boot)
    check(stop.get('Result') == 'success' and stop.get('ExecMainStatus') == '0',
          'systemctl stop: the daemon exited 0', stop)

    # 7. The replay of the artefact stores the same denials.
    if replay:
        rep = [json.loads(l) for l in open(replay) if l.strip()]
        rep = [d for d in rep if d.get('source_type') == 'container_t']
        check(sorted((d['serial'], d['raw']) for d in rep) ==
              sorted((d['serial'], d['raw']) for d in mine),
              'avcwatchd --input audit.log stores the same %d denials, raw identical' % len(mine),
              'replay stored %d' % len(rep))

    print('%d check(s) failed' % len(failures) if failures else 'all checks passed')
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
