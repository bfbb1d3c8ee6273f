#!/bin/sh
# Run inside the image's chroot: the dependency closure (Depends + Pre-Depends, first
# alternative) of the given packages, among the installed ones, one name per line.
todo="$*"
seen=" "
while [ -n "$(echo $todo)" ]; do
        set -- $todo
        p=$1
        shift
        todo="$*"
        case "$seen" in *" $p "*) continue ;; esac
        dpkg-query -W -f='${Status}' "$p" 2> /dev/null | grep -q 'ok installed' || continue
        seen="$seen$p "
        deps=$(dpkg-query -W -f='${Pre-Depends}, ${Depends}' "$p" | tr ',' '\n' |
                sed 's/|.*//; s/(.*)//; s/:any//; s/^ *//; s/ *$//' | grep -v '^$')
        todo="$todo $deps"
done
echo $seen | tr ' ' '\n' | sort
