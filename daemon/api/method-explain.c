/* SPDX-License-Identifier: MIT */
/* io.avcwatch.Explain: the denials of one audit event with their triage, and what the policy
 * loaded now says of each (avcctl explain SERIAL | --last).
 *
 * Decisions:
 * - The event is found by its serial (filter.serial), or with last as the newest denial that
 *   matches the filter; then every denial of that event (same time, serial and node) is
 *   returned, since an event may hold several AVC records. A serial alone may name several
 *   events (serials restart at boot, each node counts its own): all of them, newest first, at
 *   most EXPLAIN_DENIALS_MAX denials (truncated says there were more).
 * - The constraint text is computed now, not stored: it is libsepol's text of the failed
 *   constraint expressions, long, the same for thousands of rows, and wanted only when a person
 *   asks; the triage cache answers in microseconds. Because it is the policy loaded now, the
 *   reply says which policy and its reason now, beside the stored reason (of the policy at the
 *   time): a difference means the policy or a boolean changed since.
 * - Reading is bounded like Query's: each store_query call reads for at most its CPU budget;
 *   after EXPLAIN_CALLS_MAX calls without an answer the caller is told to narrow the range. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "denial-json.h"
#include "json-add.h"
#include "macro.h"
#include "method.h"
#include "reply-json.h"
#include "triage.h"
#include "varlink.h"
#include "verdict.h"

#define EXPLAIN_DENIALS_MAX 64 /* denials of the events of one serial, newest first */
#define EXPLAIN_CALLS_MAX 30   /* store_query calls (each bounded in CPU) before giving up */

typedef struct ExplainCall {
        Triage *triage;
        json_object *denials;
        size_t n;
        bool truncated;
        /* last: the event of the first denial found; the others must be of it */
        bool want_event, have_event;
        Denial event; /* time_ms, serial, node of that event (node owned) */
} ExplainCall;

static bool same_event(const Denial *a, const Denial *b) {
        return a->time_ms == b->time_ms && a->serial == b->serial &&
               strcmp(a->node ?: "", b->node ?: "") == 0;
}

/* {denial, reached, policy, reason_now, booleans_now, dontaudit_now, constraint} */
static int explained_to_json(Triage *t, const Denial *d, json_object **ret) {
        _cleanup_(json_object_putp) json_object *o = json_object_new_object(), *j = NULL,
                                                *bools = NULL;
        _cleanup_(triage_explanation_done) TriageExplanation e = {};
        int r;

        if (!o)
                return -ENOMEM;
        r = denial_to_json(d, &j);
        if (r < 0)
                return r;
        r = triage_explain(t, d, &e);
        if (r < 0)
                return r;
        r = permissions_to_json(e.answered ? e.booleans : NULL, &bools);
        if (r < 0)
                return r;
        if (json_add(o, "denial", TAKE_PTR(j)) < 0 ||
            json_add_string(o, "reached", triage_denial_reached(d)) < 0 ||
            json_add_string(o, "policy", e.policy) < 0 ||
            json_add_string(o, "reason_now",
                            e.answered ? triage_reason_to_string(e.reason) : NULL) < 0 ||
            json_add(o, "booleans_now", TAKE_PTR(bools)) < 0 ||
            json_add_bool(o, "dontaudit_now", e.answered && e.dontaudit) < 0 ||
            json_add_string(o, "constraint", e.answered ? e.constraint : NULL) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(o);
        return 0;
}

/* A store_query callback: 1 stops the query. */
static int explain_add(const Denial *d, void *userdata) {
        ExplainCall *call = userdata;
        json_object *o;
        int r;

        if (call->want_event) {
                if (!call->have_event) {
                        call->event.time_ms = d->time_ms;
                        call->event.serial = d->serial;
                        if (d->node && !(call->event.node = strdup(d->node)))
                                return -ENOMEM;
                        call->have_event = true;
                } else if (!same_event(d, &call->event))
                        return 0;
        }
        if (call->n >= EXPLAIN_DENIALS_MAX) {
                call->truncated = true;
                return 1;
        }
        r = explained_to_json(call->triage, d, &o);
        if (r < 0)
                return r;
        r = json_append(call->denials, o);
        if (r < 0)
                return r;
        call->n++;
        return 0;
}

/* Reads every match of f (newest first) into call, page after page; false when the answer has
 * been sent (an error). */
static bool explain_read(Connection *c, const DenialFilter *f, ExplainCall *call, bool first_only) {
        StorePage page = {};
        int64_t after = 0;
        bool has_after = false;

        for (unsigned i = 0;; i++) {
                if (i >= EXPLAIN_CALLS_MAX) {
                        connection_send_error(
                                c, ERROR_QUERY_TOO_EXPENSIVE, "message",
                                varlink_string_new("finding the event reads too many denial "
                                                   "rows: narrow it with --since/--until"));
                        return false;
                }
                int r = store_query(connection_context(c)->store, f, true,
                                    has_after ? &after : NULL, first_only ? 1 : 100, explain_add,
                                    call, &page);
                if (r < 0) {
                        connection_send_failure(c, r);
                        return false;
                }
                if (r > 0 || !page.more || (first_only && call->have_event))
                        return true;
                after = page.next;
                has_after = true;
        }
}

void method_explain(Connection *c, json_object *params) {
        static const char *const known[] = {"filter", "last", NULL};
        _cleanup_(denial_filter_done) DenialFilter filter = {};
        ExplainCall call = {.triage = connection_context(c)->triage};
        bool last = false;

        if (!params_check_keys(c, params, known) || !params_get_bool(c, params, "last", &last) ||
            !params_get_filter(c, params, &filter) || !params_check_known(c, &filter))
                return;
        /* Without last, the serial names the event: no serial would explain everything. */
        if (!last && !filter.has_serial) {
                connection_send_invalid_parameter(c, "filter");
                return;
        }
        call.denials = json_object_new_array();
        if (!call.denials) {
                connection_fail(c);
                return;
        }
        if (last) {
                /* The newest match, then every denial of its event (whatever the filter says
                 * of the others: they are the same event). */
                call.want_event = true;
                if (!explain_read(c, &filter, &call, true))
                        goto fail;
                if (call.have_event) {
                        DenialFilter event = {
                                .has_serial = true,
                                .serial = call.event.serial,
                                .has_since = true,
                                .since_ms = call.event.time_ms,
                                .has_until = true,
                                .until_ms = call.event.time_ms + 1,
                                .include_selftest = true,
                        };
                        json_object_put(call.denials);
                        call.denials = json_object_new_array();
                        call.n = 0;
                        if (!call.denials) {
                                connection_fail(c);
                                goto fail;
                        }
                        if (!explain_read(c, &event, &call, false))
                                goto fail;
                }
        } else if (!explain_read(c, &filter, &call, false))
                goto fail;

        json_object *p = reply_params_new("denials", TAKE_PTR(call.denials));
        if (p && json_add_bool(p, "truncated", call.truncated) < 0) {
                json_object_put(p);
                p = NULL;
        }
        connection_reply(c, p, false);
fail:
        json_object_put(call.denials);
        free(call.event.node);
}
