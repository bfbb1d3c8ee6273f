/* SPDX-License-Identifier: MIT */
/* avcctl query [FILTERS] [--reverse] [--limit N]: stored denials, oldest first.
 * avcctl query --histogram INTERVAL [FILTERS]: how many per time bin ("when did this start?").
 *
 * Pages through io.avcwatch.Query with the cursor the daemon returns, printing each page as it
 * arrives, so that memory stays bounded by one page however many denials match. A histogram is
 * one io.avcwatch.Histogram call (at most 10000 bins). */

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "filter-options.h"
#include "json-scan.h"
#include "strutil.h"
#include "timeparse.h"
#include "varlink.h"
#include "verbs.h"

/* The API's largest page (io.avcwatch.varlink: "limit: at most 1000 per page"). */
#define QUERY_PAGE_MAX 1000
/* stdout's buffer when it is not a terminal. */
#define QUERY_STDOUT_BUFFER (64U * 1024U)
/* io.avcwatch.varlink: Histogram's interval, in seconds. */
#define QUERY_HISTOGRAM_INTERVAL_MAX (366 * 24 * 3600)

enum {
        ARG_QUERY_REVERSE = 0x300,
        ARG_QUERY_HISTOGRAM,
};

typedef struct QueryArgs {
        FilterOptions filter;
        bool reverse;
        int64_t histogram_ms; /* 0: list the denials */
} QueryArgs;

static int json_add(json_object *o, const char *key, json_object *v) {
        if (!v || json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

/* One row the fast path could not pass through (not canonical, json-scan.h): parsed and handed
 * to func as every row used to be. */
static int query_row_parsed(const char *row, size_t len, QueryDenialFunc func, void *userdata) {
        json_object *o = NULL;
        int r = varlink_parse_message(row, len, &o);
        if (r < 0)
                return r;
        r = func(o, userdata);
        json_object_put(o);
        return r;
}

/* Sends one Query call for a page of want rows after the cursor (when has_after); without_raw
 * asks for rows without their raw text (the daemon then neither reads nor decompresses it). */
static int query_send(VarlinkClient *c, json_object *filter, bool reverse, bool without_raw,
                      uint64_t want, bool has_after, int64_t after) {
        json_object *params = json_object_new_object();
        int r;

        if (!params || (filter && json_add(params, "filter", json_object_get(filter)) < 0) ||
            json_add(params, "limit", json_object_new_int64((int64_t) want)) < 0 ||
            (has_after && json_add(params, "after", json_object_new_int64(after)) < 0) ||
            (reverse && json_add(params, "reverse", json_object_new_boolean(true)) < 0) ||
            (without_raw && json_add(params, "raw", json_object_new_boolean(false)) < 0)) {
                json_object_put(params);
                return -ENOMEM;
        }
        r = varlink_client_send(c, "io.avcwatch.Query", params, false);
        json_object_put(params);
        return r;
}

/* The exit status of a step that failed with r: out of memory is ours (said, 1), anything else
 * is the talk with avcwatchd going wrong (client_io_failed()). */
static int query_failed(int r) {
        if (r == -ENOMEM) {
                fprintf(stderr, "avcctl: out of memory\n");
                return AVCCTL_EXIT_FAILURE;
        }
        return client_io_failed(r);
}

/* Asks for the page after cursor next ahead of time, when the answer needs more than the `seen`
 * rows it will have had and the cursor moves on (a cursor that does not would loop forever: the
 * loop of query_pages() ends there instead). *ret_sent says whether it asked. Returns
 * AVCCTL_EXIT_SUCCESS, or the exit status of a failure (said). */
static int query_send_next(VarlinkClient *c, json_object *filter, bool reverse, bool without_raw,
                           bool has_limit, uint64_t limit, uint64_t seen, bool has_after,
                           int64_t after, int64_t next, bool *ret_sent) {
        int r;

        *ret_sent = false;
        if ((has_limit && seen >= limit) ||
            (has_after && (reverse ? next >= after : next <= after)))
                return AVCCTL_EXIT_SUCCESS;
        uint64_t left = has_limit ? limit - seen : UINT64_MAX;
        r = query_send(c, filter, reverse, without_raw, MIN(left, (uint64_t) QUERY_PAGE_MAX), true,
                       next);
        if (r < 0)
                return query_failed(r);
        *ret_sent = true;
        return AVCCTL_EXIT_SUCCESS;
}

static int query_pages(VarlinkClient *c, json_object *filter, bool reverse, bool without_raw,
                       bool has_limit, uint64_t limit, QueryDenialFunc func,
                       QueryDenialTextFunc text_func, const char *const *keys, size_t n_keys,
                       void *userdata) {
        _cleanup_(query_page_text_done) QueryPageText page = {};
        uint64_t seen = 0;
        bool has_after = false, sent = false;
        int64_t after = 0;
        int r;

        page.n_keys = MIN(n_keys, (size_t) QUERY_PAGE_KEYS_MAX);
        for (size_t i = 0; i < page.n_keys; i++)
                page.keys[i] = keys[i];
        for (;;) {
                _cleanup_(varlink_reply_done) VarlinkReply reply = {};
                uint64_t want =
                        has_limit ? MIN(limit - seen, (uint64_t) QUERY_PAGE_MAX) : QUERY_PAGE_MAX;
                json_object *denials, *next;
                const char *text;
                size_t len, n;
                bool has_next;
                int64_t cursor = 0;

                r = sent ? 0 : query_send(c, filter, reverse, without_raw, want, has_after, after);
                sent = false;
                if (r < 0)
                        return query_failed(r);
                r = varlink_client_read_text(c, VARLINK_CLIENT_CALL_TIMEOUT_MS, &text, &len);
                if (r < 0)
                        return client_io_failed(r);

                /* The next page is asked for before this one is scanned and printed, so that
                 * the daemon reads it meanwhile (two cores; at most one call ahead), with the
                 * cursor read from the page's last bytes: when this page cannot end the answer
                 * (it holds at most `want` rows) and the loop below would ask for it anyway. The
                 * scan then checks that the page has that same cursor. */
                bool early = false;
                int64_t early_next = 0;
                if (text_func && query_page_text_peek_next(text, len, &early, &early_next) >= 0 &&
                    early) {
                        r = query_send_next(c, filter, reverse, without_raw, has_limit, limit,
                                            seen + want, has_after, after, early_next, &early);
                        if (r != AVCCTL_EXIT_SUCCESS)
                                return r;
                }

                if (text_func && query_page_text_parse(text, len, &page) >= 0) {
                        /* As above, once the page is scanned: a short page (the daemon's time
                         * budget) may still need a next one. */
                        if (early) {
                                if (!page.has_next || page.next != early_next)
                                        return client_io_failed(-EBADMSG);
                                sent = true;
                        } else if (page.has_next) {
                                r = query_send_next(c, filter, reverse, without_raw, has_limit,
                                                    limit, seen + page.n, has_after, after,
                                                    page.next, &sent);
                                if (r != AVCCTL_EXIT_SUCCESS)
                                        return r;
                        }
                        /* The page as the daemon wrote it: rows passed through. */
                        for (size_t i = 0; i < page.n && seen < (has_limit ? limit : UINT64_MAX);
                             i++) {
                                r = page.canonical[i]
                                            ? text_func(page.rows[i], page.lens[i],
                                                        page.n_keys > 0
                                                                ? page.values + i * page.n_keys
                                                                : NULL,
                                                        userdata)
                                            : query_row_parsed(page.rows[i], page.lens[i], func,
                                                               userdata);
                                if (r < 0)
                                        return client_io_failed(r);
                                seen++;
                                if (r > 0)
                                        return AVCCTL_EXIT_SUCCESS;
                        }
                        has_next = page.has_next;
                        cursor = page.next;
                } else {
                        r = varlink_client_reply_parse(c, text, len, &reply);
                        if (r < 0)
                                return client_io_failed(r);
                        if (reply.error)
                                return client_reply_failed(&reply);

                        if (!json_object_object_get_ex(reply.parameters, "denials", &denials) ||
                            !json_object_is_type(denials, json_type_array))
                                return client_io_failed(-EBADMSG);
                        n = json_object_array_length(denials);
                        for (size_t i = 0; i < n && seen < (has_limit ? limit : UINT64_MAX); i++) {
                                r = func(json_object_array_get_idx(denials, i), userdata);
                                if (r < 0)
                                        return client_io_failed(r);
                                seen++;
                                if (r > 0)
                                        return AVCCTL_EXIT_SUCCESS;
                        }
                        has_next = json_object_object_get_ex(reply.parameters, "next", &next) &&
                                   !json_object_is_type(next, json_type_null);
                        if (has_next) {
                                if (!json_object_is_type(next, json_type_int))
                                        return client_io_failed(-EBADMSG);
                                cursor = json_object_get_int64(next);
                        }
                        if (early) {
                                if (!has_next || cursor != early_next)
                                        return client_io_failed(-EBADMSG);
                                sent = true;
                        }
                }

                if (has_limit && seen >= limit)
                        return AVCCTL_EXIT_SUCCESS;
                if (!has_next)
                        return AVCCTL_EXIT_SUCCESS;
                /* A page may be short, even empty, and still have a next: the daemon reads in
                 * time-bounded steps. A cursor that does not move on would loop forever:
                 * treat it as the end instead of trusting it. */
                if (has_after && (reverse ? cursor >= after : cursor <= after))
                        return AVCCTL_EXIT_SUCCESS;
                after = cursor;
                has_after = true;
        }
}

int query_run(VarlinkClient *c, json_object *filter, bool reverse, bool has_limit, uint64_t limit,
              QueryDenialFunc func, void *userdata) {
        return query_pages(c, filter, reverse, false, has_limit, limit, func, NULL, NULL, 0,
                           userdata);
}

int query_run_text(VarlinkClient *c, json_object *filter, bool reverse, bool without_raw,
                   bool has_limit, uint64_t limit, QueryDenialFunc func,
                   QueryDenialTextFunc text_func, const char *const *keys, size_t n_keys,
                   void *userdata) {
        return query_pages(c, filter, reverse, without_raw, has_limit, limit, func, text_func, keys,
                           n_keys, userdata);
}

static void query_args_done(QueryArgs *a) {
        filter_options_done(&a->filter);
}

static int query_parse_option(int c, const char *arg, void *userdata) {
        QueryArgs *a = userdata;
        int r;

        r = filter_options_parse_one(&a->filter, c, arg);
        if (r != 0)
                return r < 0 ? r : 0;
        switch (c) {
        case ARG_QUERY_REVERSE:
                a->reverse = true;
                return 0;
        case ARG_QUERY_HISTOGRAM:
                if (parse_duration(arg, &a->histogram_ms) < 0 || a->histogram_ms % 1000 != 0 ||
                    a->histogram_ms / 1000 > QUERY_HISTOGRAM_INTERVAL_MAX) {
                        fprintf(stderr, "avcctl query: invalid --histogram interval '");
                        fputs_terminal_safe(arg, stderr);
                        fprintf(stderr, "': expected whole seconds up to a year, e.g. 1h, "
                                        "15min, 1d\n");
                        return -EINVAL;
                }
                return 0;
        default:
                return -ENOENT;
        }
}

static int query_print_denial(json_object *denial, void *userdata) {
        return output_denial(userdata, denial);
}

static int query_print_denial_text(const char *text, size_t len, const char *const *values,
                                   void *userdata) {
        return output_denial_text(userdata, text, len, values);
}

int64_t query_histogram_offset(int64_t at_ms, bool utc) {
        time_t t = (time_t) (at_ms / 1000);
        struct tm tm;

        if (utc || !localtime_r(&t, &tm))
                return 0;
        return (int64_t) tm.tm_gmtoff;
}

static int query_histogram(VarlinkClient *c, json_object *filter, int64_t interval_ms,
                           int64_t offset_sec, const ClientContext *ctx) {
        _cleanup_(varlink_reply_done) VarlinkReply reply = {};
        json_object *params, *bins;
        Output out;
        int r;

        params = json_object_new_object();
        if (!params || json_add(params, "filter", json_object_get(filter)) < 0 ||
            json_add(params, "interval", json_object_new_int64(interval_ms / 1000)) < 0 ||
            (offset_sec != 0 &&
             json_add(params, "offset", json_object_new_int64(offset_sec)) < 0)) {
                json_object_put(params);
                fprintf(stderr, "avcctl: out of memory\n");
                return AVCCTL_EXIT_FAILURE;
        }
        r = varlink_client_call(c, "io.avcwatch.Histogram", params, &reply);
        json_object_put(params);
        if (r < 0)
                return client_io_failed(r);
        if (reply.error)
                return client_reply_failed(&reply);
        if (!json_object_object_get_ex(reply.parameters, "bins", &bins))
                return client_io_failed(-EBADMSG);
        client_output_init(&out, ctx);
        r = output_histogram(&out, bins, interval_ms);
        if (r < 0)
                return query_failed(r);
        return AVCCTL_EXIT_SUCCESS;
}

int verb_query(int argc, char *argv[], ClientContext *ctx) {
        static const struct option options[] = {
                FILTER_OPTIONS,
                {"reverse", no_argument, NULL, ARG_QUERY_REVERSE},
                {"histogram", required_argument, NULL, ARG_QUERY_HISTOGRAM},
                {},
        };
        _cleanup_(query_args_done) QueryArgs a = {};
        _cleanup_(varlink_client_freep) VarlinkClient *c = NULL;
        json_object *filter = NULL;
        Output out;
        int r, status;

        filter_options_init(&a.filter, now_realtime_ms());

        r = verb_parse_options(argc, argv, options, "", query_parse_option, &a, ctx);
        if (r != 0)
                return r > 0 ? AVCCTL_EXIT_SUCCESS : AVCCTL_EXIT_FAILURE;
        if (filter_options_finish(&a.filter) < 0)
                return AVCCTL_EXIT_FAILURE;

        r = denial_filter_to_json(&a.filter.filter, &filter);
        if (r < 0) {
                fprintf(stderr, "avcctl: cannot encode the filter: %s\n", strerror(-r));
                return AVCCTL_EXIT_FAILURE;
        }

        if (a.histogram_ms > 0 && (ctx->output == OUTPUT_RAW || a.reverse || a.filter.has_limit)) {
                fprintf(stderr, "avcctl query: --histogram counts; it takes neither -o raw, "
                                "--reverse nor --limit\n");
                json_object_put(filter);
                return AVCCTL_EXIT_FAILURE;
        }

        /* A bulk answer into a pipe or file goes out in writes of the pipe's default capacity
         * instead of stdio's 4 KiB, one for every two or three rows of -o json. Nothing has
         * been written to stdout yet; a terminal keeps its line buffering. */
        if (!isatty(STDOUT_FILENO)) {
                static char stdout_buffer[QUERY_STDOUT_BUFFER];
                (void) setvbuf(stdout, stdout_buffer, _IOFBF, sizeof(stdout_buffer));
        }

        status = client_connect(ctx, &c);
        if (status == AVCCTL_EXIT_SUCCESS && a.histogram_ms > 0) {
                /* Bins in the clock the times are shown in: local days start at local midnight.
                 * One offset for the whole range, the one in force at its end: across a change
                 * to or from summer time the bins on the other side start an hour off (their
                 * START says so, with its zone). */
                int64_t offset = query_histogram_offset(
                        a.filter.filter.has_until ? a.filter.filter.until_ms : now_realtime_ms(),
                        ctx->style.utc);
                status = query_histogram(c, filter, a.histogram_ms, offset, ctx);
                r = client_flush_stdout();
                if (status == AVCCTL_EXIT_SUCCESS)
                        status = r;
        } else if (status == AVCCTL_EXIT_SUCCESS) {
                client_output_init(&out, ctx);
                output_denials_header(&out);
                /* Canonical rows are read from the text the daemon sent (json-scan.h): printed
                 * as they are (-o json), their raw text (-o raw) or their row (short: no raw
                 * text, so it does not ask for it) without a tree. */
                const char *const *keys;
                size_t n_keys = output_denial_text_keys(&out, &keys);
                status = query_run_text(c, filter, a.reverse, out.mode == OUTPUT_SHORT,
                                        a.filter.has_limit, a.filter.limit, query_print_denial,
                                        query_print_denial_text, keys, n_keys, &out);
                if (status == AVCCTL_EXIT_SUCCESS)
                        output_header_flush(&out); /* no rows: the head of an empty table */
                r = client_flush_stdout();
                if (status == AVCCTL_EXIT_SUCCESS)
                        status = r;
        }
        json_object_put(filter);
        return status;
}
