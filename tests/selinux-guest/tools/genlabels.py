#!/usr/bin/python3
# Run inside the image's chroot (where the policy is installed): reads "<find %y> <relative
# path>" lines on stdin and prints a `getfattr --dump` style file with the file_contexts label of
# each path. The initramfs (cpio) carries no xattrs; the guest applies this dump with
# `setfattr --restore`, which is ~25x faster under TCG than running setfiles on the tree.
import stat
import sys

import selinux

MODES = {'f': stat.S_IFREG, 'd': stat.S_IFDIR, 'l': stat.S_IFLNK, 'c': stat.S_IFCHR,
         'b': stat.S_IFBLK, 'p': stat.S_IFIFO, 's': stat.S_IFSOCK}
h = selinux.selabel_open(selinux.SELABEL_CTX_FILE, None, 0)


def esc(p):
    out = []
    for b in p.encode('utf-8', 'surrogateescape'):
        c = chr(b)
        out.append('\\%03o' % b if b < 0x21 or b > 0x7e or c in '\\"=' else c)
    return ''.join(out)


for line in sys.stdin.buffer:
    line = line.rstrip(b'\n').decode('utf-8', 'surrogateescape')
    t, p = line.split(' ', 1)
    try:
        rc, con = selinux.selabel_lookup(h, '/' + p if p else '/', MODES[t])
    except OSError:
        continue  # <<none>> in file_contexts
    print('# file: %s' % esc(p if p else '.'))
    print('security.selinux="%s"' % con)
    print()
