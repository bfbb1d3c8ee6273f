/* SPDX-License-Identifier: MIT */
/* The self-test denials of `avcctl selftest` (client/verb-selftest.c) prove that the path from
 * the kernel to the store works; they are no container's denials and must not count in query,
 * tail or top. Hiding a denial is what an attacker in a container would like to do, so a denial
 * is a self-test one only when the daemon can vouch for it, from facts a container cannot forge:
 *
 * - The mark is the target type avcwatch_selftest_t, not comm, path or name: a process chooses
 *   its comm and its paths, so a container naming itself "avcctl-selftest" would hide its real
 *   kernel denials. A target type is the object's label.
 * - Only a USER_AVC can be one, never a kernel AVC: even the label is not proof in the kernel's
 *   records (a file system the container brings, labeled NFS, can give an object a context no
 *   policy defines, and the kernel prints it as it is).
 * - The USER_AVC's sender, which the kernel stamps on the outer record from the netlink
 *   socket's credentials (pid=, subj=), is a host process: the attributor looked its pid up
 *   while it was still running (avcctl selftest waits for its denial, so it is) and found no
 *   container (attribution "sender" otherwise), and its label, where SELinux gives one, is not
 *   a container domain (Domains=). Sending needs CAP_AUDIT_WRITE, which Docker grants by default
 *   to root in a container: these checks are what tell that sender from the host's avcctl.
 *
 * A forged one fails a check and stays an ordinary, visible denial (and, sent from a container,
 * that container's claim). What a container can never do is make one of its kernel denials
 * vanish. Imported or backfilled records cannot be vouched for (their senders are gone): a
 * self-test denial read from a log stays visible. */

#include <errno.h>
#include <fnmatch.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "context.h"
#include "filter.h"
#include "record.h"
#include "selftest.h"

static bool sender_is_running(int64_t pid) {
        /* EPERM: it exists, we may not signal it (the daemon runs unprivileged) */
        return pid > 0 && (kill((pid_t) pid, 0) == 0 || errno == EPERM);
}

static bool sender_label_is_host(const DomainFilter *domains, const char *subj) {
        char type[256];

        if (!subj)
                return true; /* no SELinux: no label to tell, the pid was looked up */
        if (context_split(subj, type, sizeof(type), NULL, 0) < 0)
                return false;
        return !domain_filter_wants(domains, type, NULL);
}

int selftest_mark(Denial *d, const DomainFilter *domains, bool sender_checked) {
        int r;

        if (!d || !sender_checked || d->record_type != AUDIT_TYPE_USER_AVC || !d->target_type ||
            strcmp(d->target_type, SELFTEST_TARGET_TYPE) != 0 ||
            d->attribution == ATTRIBUTION_SENDER || !sender_is_running(d->sender_pid) ||
            !sender_label_is_host(domains, d->sender_subj))
                return 0;
        r = denial_set_string(d, &d->result, DENIAL_RESULT_SELFTEST);
        return r < 0 ? r : 1;
}
