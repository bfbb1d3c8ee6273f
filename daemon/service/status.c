/* SPDX-License-Identifier: MIT */
/* Live counters in systemd's STATUS= (see status.h). A repeating timer rather than a call from
 * the data path: a flood of denials costs no extra datagrams, and an idle daemon sends nothing
 * new because the text did not change. */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "status.h"

#define STATUS_ACCURACY_USEC (1000ULL * 1000) /* lets the kernel batch our wake-ups */

struct StatusNotifier {
        const Stats *stats;
        sd_event_source *timer;
        char last[STATUS_TEXT_MAX];
};

void status_format(const Stats *s, char *buf, size_t n) {
        snprintf(buf, n,
                 "%" PRIu64 " denials stored, %" PRIu64 " filtered, %" PRIu64 " lost; %" PRIu64
                 " records read; %" PRIu64 " clients, %" PRIu64 " tailing.",
                 s->pipeline.denials_stored, s->pipeline.denials_filtered, stats_events_lost(s),
                 s->source.records_received, s->api.clients, s->api.tail_subscribers);
}

static int on_status_timer(sd_event_source *source, uint64_t usec, void *userdata) {
        StatusNotifier *s = userdata;
        char text[STATUS_TEXT_MAX];

        status_format(s->stats, text, sizeof(text));
        if (strcmp(text, s->last) != 0) {
                (void) sd_notifyf(false, "STATUS=%s", text);
                memcpy(s->last, text, sizeof(text));
        }
        (void) sd_event_source_set_time(source, usec + STATUS_INTERVAL_USEC);
        (void) sd_event_source_set_enabled(source, SD_EVENT_ON);
        return 0;
}

int status_notifier_new(sd_event *e, const Stats *stats, StatusNotifier **ret) {
        _cleanup_(status_notifier_freep) StatusNotifier *s = NULL;
        const char *notify = getenv("NOTIFY_SOCKET");
        int r;

        if (!e || !stats || !ret)
                return -EINVAL;
        if (!notify || !*notify) {
                *ret = NULL;
                return 0;
        }
        s = calloc(1, sizeof(StatusNotifier));
        if (!s)
                return -ENOMEM;
        s->stats = stats;
        r = sd_event_add_time_relative(e, &s->timer, CLOCK_MONOTONIC, STATUS_INTERVAL_USEC,
                                       STATUS_ACCURACY_USEC, on_status_timer, s);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(s->timer, "status");
        r = sd_event_source_set_enabled(s->timer, SD_EVENT_ON);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

StatusNotifier *status_notifier_free(StatusNotifier *s) {
        if (!s)
                return NULL;
        sd_event_source_disable_unref(s->timer);
        free(s);
        return NULL;
}
