/* SPDX-License-Identifier: MIT */
#pragma once

/* STATUS= lines for systemd (`systemctl status avcwatchd` shows the last one): the live counters,
 * sent by a timer every STATUS_INTERVAL_USEC, and only when they changed. The timer exists only
 * under a service manager (NOTIFY_SOCKET set): a daemon started by hand does not wake up for it. */

#include <stddef.h>
#include <systemd/sd-event.h>

#include "macro.h"
#include "stats.h"

#define STATUS_INTERVAL_USEC (2ULL * 1000 * 1000) /* fresh enough for `systemctl status` */
#define STATUS_TEXT_MAX 256

typedef struct StatusNotifier StatusNotifier;

/* stats must outlive the notifier. *ret is NULL (and 0 returned) when NOTIFY_SOCKET is unset. */
int status_notifier_new(sd_event *e, const Stats *stats, StatusNotifier **ret);
StatusNotifier *status_notifier_free(StatusNotifier *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(StatusNotifier *, status_notifier_free);

/* The STATUS= text (without "STATUS=") for stats, into buf of size n. */
void status_format(const Stats *stats, char *buf, size_t n);
