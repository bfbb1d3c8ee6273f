/* SPDX-License-Identifier: MIT */
/* The daemon's shared counters (stats.h); the io.avcwatch.Stats reply is made from them by
 * daemon/api/stats-json.c.
 *
 * Loss windows: every loss is counted and placed in time. Losses come in episodes (an overrun, a
 * full disk), so they are grouped into windows: a window opens with the first loss, and is
 * logged at once ("losing ..."), takes every loss whose time touches it, and is logged again
 * when it has been quiet for STATS_LOSS_QUIET_USEC, with its totals. So the log says when and how
 * much was lost in two lines per episode, however long it lasts, and `stats` keeps the recent
 * windows. A loss found out late (missing serials are known only when a later record arrives)
 * still joins the window of its time, reopening it. */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "clock.h"
#include "timeparse.h"
#include "log.h"
#include "macro.h"
#include "stats.h"

static const char *const loss_texts[_LOSS_KIND_MAX] = {
        [LOSS_SOCKET_DROPPED] = "records dropped by the audit socket (receive queue full)",
        [LOSS_SERIAL_MISSED] = "audit events never received (missing serials)",
        [LOSS_UNSTORED] = "denials not stored",
};

uint64_t loss_ledger_events_lost(const LossLedger *l) {
        return MAX(l->netlink_dropped, l->serials_missed) + l->denials_unstored;
}

uint64_t stats_events_lost(const Stats *s) {
        return loss_ledger_events_lost(&s->losses);
}

static LossWindow *current_window(LossLedger *s) {
        return &s->windows[(s->loss_windows - 1) % STATS_LOSS_WINDOWS_MAX];
}

static void window_text(const LossWindow *w, char *buf, size_t n) {
        char since[32], until[32];
        size_t len;

        format_time_iso8601_ms(w->since_ms, since, sizeof(since));
        format_time_iso8601_ms(w->until_ms, until, sizeof(until));
        len = (size_t) snprintf(buf, n, "between %s and %s:", since, until);
        for (int k = 0; k < _LOSS_KIND_MAX && len < n; k++)
                if (w->counts[k] > 0)
                        len += (size_t) snprintf(buf + len, n - len, " %" PRIu64 " %s;",
                                                 w->counts[k], loss_texts[k]);
        if (len > 0 && len < n && buf[len - 1] == ';')
                buf[len - 1] = '.';
}

/* Closes the open window now, with its summary. */
static void close_window(LossLedger *s) {
        char text[512];

        window_text(current_window(s), text, sizeof(text));
        log_warning("Lost audit data %s In all since the start: %" PRIu64 " events lost.", text,
                    loss_ledger_events_lost(s));
        s->window_open = false;
}

/* A loss was counted: its window gets closed (and summarised) once it is quiet. */
static void loss_ledger_arm(LossLedger *l) {
        int enabled = SD_EVENT_OFF;

        if (!l->quiet_timer)
                return;
        (void) sd_event_source_get_enabled(l->quiet_timer, &enabled);
        if (enabled != SD_EVENT_OFF)
                return;
        (void) sd_event_source_set_time(l->quiet_timer,
                                        now_monotonic_usec() + STATS_LOSS_QUIET_USEC);
        (void) sd_event_source_set_enabled(l->quiet_timer, SD_EVENT_ONESHOT);
}

void stats_add_loss(LossLedger *s, LossKind kind, uint64_t n, int64_t since_ms, int64_t until_ms,
                    uint64_t now_usec, const char *detail) {
        LossWindow *w = NULL;

        if (n == 0 || kind < 0 || kind >= _LOSS_KIND_MAX)
                return;
        switch (kind) {
        case LOSS_SOCKET_DROPPED:
                s->netlink_dropped += n;
                break;
        case LOSS_SERIAL_MISSED:
                s->serials_missed += n;
                break;
        case LOSS_UNSTORED:
                s->denials_unstored += n;
                break;
        default:
                break;
        }
        if (since_ms > until_ms)
                since_ms = until_ms;

        /* The same episode when the times touch the newest window: the missing serials of an
         * overrun are known only once a later record arrives, maybe after its window closed. */
        if (s->loss_windows > 0) {
                w = current_window(s);
                if (since_ms > w->until_ms + STATS_LOSS_MERGE_MS ||
                    until_ms < w->since_ms - STATS_LOSS_MERGE_MS) {
                        if (s->window_open)
                                close_window(s);
                        w = NULL;
                }
        }

        if (w) {
                /* Reopened if need be: its summary is logged again, with this loss. */
                w->since_ms = MIN(w->since_ms, since_ms);
                w->until_ms = MAX(w->until_ms, until_ms);
                w->counts[kind] += n;
                w->last_usec = now_usec;
                s->window_open = true;
        } else {
                s->loss_windows++;
                w = current_window(s);
                *w = (LossWindow){.since_ms = since_ms, .until_ms = until_ms};
                w->counts[kind] = n;
                w->last_usec = now_usec;
                s->window_open = true;

                char since[32], until[32];
                format_time_iso8601_ms(since_ms, since, sizeof(since));
                format_time_iso8601_ms(until_ms, until, sizeof(until));
                log_warning("Losing audit data: %" PRIu64 " %s between %s and %s%s%s. Counting "
                            "them; see 'avcctl stats'.",
                            n, loss_texts[kind], since, until, detail ? ": " : "",
                            detail ? detail : "");
        }
        loss_ledger_arm(s);
}

uint64_t stats_close_loss_window(LossLedger *s, uint64_t now_usec) {
        if (!s->window_open)
                return UINT64_MAX;

        LossWindow *w = current_window(s);
        if (now_usec - w->last_usec < STATS_LOSS_QUIET_USEC)
                return w->last_usec + STATS_LOSS_QUIET_USEC;
        close_window(s);
        return UINT64_MAX;
}

static int loss_ledger_on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        uint64_t next = stats_close_loss_window(userdata, now_monotonic_usec());

        if (next != UINT64_MAX) {
                (void) sd_event_source_set_time(s, next);
                (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        }
        return 0;
}

int loss_ledger_attach_event(LossLedger *l, sd_event *e) {
        int r;

        if (!l || !e || l->quiet_timer)
                return -EINVAL;
        r = sd_event_add_time(e, &l->quiet_timer, CLOCK_MONOTONIC, 0, 100 * 1000,
                              loss_ledger_on_timer, l);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(l->quiet_timer, "loss-windows");
        (void) sd_event_source_set_enabled(l->quiet_timer, SD_EVENT_OFF);
        return 0;
}

void loss_ledger_detach_event(LossLedger *l) {
        l->quiet_timer = sd_event_source_disable_unref(l->quiet_timer);
}
