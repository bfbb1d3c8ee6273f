/* SPDX-License-Identifier: MIT */
#pragma once

/* The seam between the API server's transport (server.c: connections, credentials, bounds,
 * framing) and the methods it serves (method-*.c). The transport finds a call's method in a
 * table of Method entries and hands it the call's parameters and its connection; a method
 * answers through the connection_*() calls below and never sees a socket, a buffer or a bound of
 * the transport. Every call is answered synchronously: a method sends its reply (or error)
 * before it returns, or marks the connection failed. */

#include <json-c/json.h>
#include <json-c/printbuf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "filter.h"
#include "server.h"

typedef struct Connection Connection;

/* Bounds of the methods (those of the transport are in server.h). */
#define SERVER_QUERY_PAGE_DEFAULT 100 /* rows per Query page when the client does not say */
#define SERVER_TAIL_LINES_MAX 1000    /* backlog rows a Tail may ask for */
#define SERVER_HISTOGRAM_INTERVAL_MAX (366 * 24 * 3600) /* seconds: a year per bin at most */
#define SERVER_IMPORTS_MAX 4 /* imports running at once (each holds an assembler) */
/* A Query page stops early (next is set) once its denials take this many bytes, so that a page
 * of 1000 large events (long raw text) still fits well inside SERVER_OUTPUT_MAX. */
#define SERVER_REPLY_BYTES_MAX (4 * 1024 * 1024)

/* What the methods work on, owned by the server (the pointers are borrowed). */
typedef struct MethodContext {
        Store *store;
        Registry *registry;                    /* may be NULL: Containers lists nothing */
        Triage *triage;                        /* may be NULL: Explain without the policy */
        const Stats *stats;                    /* read: the Stats method */
        server_new_importer_func new_importer; /* NULL: Import is not offered */
        void *importer_userdata;
        unsigned n_imports; /* imports running now, bounded by SERVER_IMPORTS_MAX */
        /* The text of the Query page being built, kept between calls (method-query.c): a
         * bulk export reuses it rather than growing a new buffer of megabytes per page. At
         * most SERVER_REPLY_BYTES_MAX / 2 is kept. */
        struct printbuf *reply_text;
} MethodContext;

typedef enum MethodFlags {
        /* A streaming method: a call without more gets io.avcwatch.ExpectedMore, a oneway call
         * (a stream nobody reads) is not carried out. */
        METHOD_STREAM = 1 << 0,
} MethodFlags;

/* params: the call's parameters, an object (empty when the client sent none). */
typedef void (*method_func)(Connection *c, json_object *params);

typedef struct Method {
        const char *name; /* fully qualified: "io.avcwatch.Query" */
        method_func call;
        MethodFlags flags;
} Method;

/* The methods of org.varlink.service and io.avcwatch, ended by a zero entry (method.c). */
extern const Method api_methods[];

/* ---- what the transport offers a method (server.c) ---- */

MethodContext *connection_context(Connection *c);
/* The peer is uid 0 (SO_PEERCRED at accept). */
bool connection_peer_is_root(const Connection *c);
/* Sends a reply with these parameters (consumed). NULL params: the reply could not be built, and
 * the connection is dropped rather than leaving the client waiting for an answer that never
 * comes. continues: more replies follow (a stream). */
void connection_reply(Connection *c, json_object *params, bool continues);
/* Sends a message the method serialised itself (json-writer.h), len bytes with its NUL: the
 * replies that carry many denials are built as text, not as a tree. */
void connection_send_message(Connection *c, const char *text, size_t len);
/* The same for a message at the start of the malloc'd *buf (*size bytes): when nothing is waiting
 * to be sent on c, c takes the buffer instead of copying the message, and hands its own output
 * buffer, empty, back in *buf and *size (NULL and 0 when it had none). */
void connection_send_buffer(Connection *c, char **buf, size_t *size, size_t len);
/* Sends the Varlink error `error` with {key: value} (value consumed), or with key NULL the
 * parameters object value (consumed; NULL: no parameters). */
void connection_send_error(Connection *c, const char *error, const char *key, json_object *value);
/* Nothing can be answered (out of memory): the connection is dropped. */
void connection_fail(Connection *c);
bool connection_failed(const Connection *c);
/* Tail subscribers of the whole server, bounded by SERVER_SUBSCRIBERS_MAX. */
unsigned connection_n_subscribers(const Connection *c);
/* From now on the connection is a tail subscriber: it gets every stored denial that matches
 * filter (taken over; *filter is reset). */
void connection_subscribe(Connection *c, DenialFilter *filter);
/* A method's state that lives with the connection between calls (an import in progress): freed
 * with free_state(c, state) when the connection closes, or when replaced. */
typedef void (*connection_free_state_func)(Connection *c, void *state);
void *connection_get_state(Connection *c);
void connection_set_state(Connection *c, void *state, connection_free_state_func free_state);

/* ---- shared by the methods (method.c) ---- */

#define ERROR_INVALID_PARAMETER "org.varlink.service.InvalidParameter"
#define ERROR_METHOD_NOT_FOUND "org.varlink.service.MethodNotFound"
#define ERROR_INTERFACE_NOT_FOUND "org.varlink.service.InterfaceNotFound"
#define ERROR_ACCESS_DENIED "io.avcwatch.AccessDenied"
#define ERROR_EXPECTED_MORE "io.avcwatch.ExpectedMore"
#define ERROR_TOO_MANY_SUBSCRIBERS "io.avcwatch.TooManySubscribers"
#define ERROR_STORE "io.avcwatch.StoreError"
#define ERROR_REQUEST_TOO_LARGE "io.avcwatch.RequestTooLarge"
#define ERROR_INVALID_REQUEST "io.avcwatch.InvalidRequest"
#define ERROR_QUERY_TOO_EXPENSIVE "io.avcwatch.QueryTooExpensive"
#define ERROR_IMPORT_DENIED "io.avcwatch.ImportDenied"
#define ERROR_TOO_MANY_IMPORTS "io.avcwatch.TooManyImports"
#define ERROR_UNKNOWN_CONTAINER "io.avcwatch.UnknownContainer"
#define ERROR_ACCEPT_DENIED "io.avcwatch.AcceptDenied"

void connection_send_invalid_parameter(Connection *c, const char *parameter);
/* The store's failure r, with the store's own message when it has one. */
void connection_send_store_error(Connection *c, int r);
/* r from a call that may run out of memory: -ENOMEM drops the connection, anything else is the
 * store's failure (connection_send_store_error()). */
void connection_send_failure(Connection *c, int r);
/* An answer the store gave up on (too many rows to read, too many bins) is the caller's to
 * narrow (QueryTooExpensive); -ENOMEM drops the connection; anything else is the store's
 * failure. */
void connection_send_query_error(Connection *c, int r);

/* Parameters of one call. Each sends InvalidParameter naming the key and returns false when the
 * value is not acceptable. Every key must be one the method knows (known ends with NULL). */
bool params_check_keys(Connection *c, json_object *params, const char *const *known);
/* An optional integer in [min, max]; absent or null leaves *ret. */
bool params_get_int(Connection *c, json_object *params, const char *key, int64_t min, int64_t max,
                    int64_t *ret);
bool params_get_bool(Connection *c, json_object *params, const char *key, bool *ret);
bool params_get_filter(Connection *c, json_object *params, DenialFilter *ret);
/* Sends io.avcwatch.UnknownContainer (field, value, closest) and returns false when a container,
 * target_container, image or pod value of f matches no container the daemon has seen: a typo
 * answers with the names it may have meant, not with an empty answer. */
bool params_check_known(Connection *c, const DenialFilter *f);

/* ---- the methods ---- */

void method_get_info(Connection *c, json_object *params);
void method_get_interface_description(Connection *c, json_object *params);
void method_query(Connection *c, json_object *params);
void method_tail(Connection *c, json_object *params);
void method_stats(Connection *c, json_object *params);
void method_containers(Connection *c, json_object *params);
void method_top(Connection *c, json_object *params);
void method_histogram(Connection *c, json_object *params);
void method_import(Connection *c, json_object *params);
void method_baseline(Connection *c, json_object *params);
void method_baseline_accept(Connection *c, json_object *params);
void method_explain(Connection *c, json_object *params);

/* One page of denials as JSON text, shared by Query and Tail's backlog (method-query.c): the
 * rows are written straight into pb after whatever the caller put there first (the head of its
 * reply), separated by commas. */
typedef struct QueryPage {
        struct printbuf *pb;
        size_t *starts; /* where each row begins in pb */
        size_t row_end; /* where the last row ends */
        size_t rows, bytes;
        bool full;   /* stopped at SERVER_REPLY_BYTES_MAX */
        bool no_raw; /* set by the caller: rows without their raw text (Query's raw: false) */
} QueryPage;
void query_page_done(QueryPage *page);
/* A sent reply's buffer (malloc'd, size bytes), given to m to build the next page in, or freed:
 * m keeps one, the largest up to SERVER_REPLY_BYTES_MAX / 2. */
void query_text_recycle(MethodContext *m, char *buf, size_t size);
/* A store_query() callback: adds d to the page (userdata), 1 when the page is full. */
int query_page_add(const Denial *d, void *userdata);
/* Reads one page from the store into page (pb set by the caller). On failure the connection got
 * its answer (StoreError) or was failed, and false is returned. ret_more may be NULL. */
bool query_page_fill(Connection *c, const DenialFilter *filter, bool reverse, const int64_t *after,
                     unsigned limit, QueryPage *page, StorePage *ret_more);
/* Row i of a filled page: its text and length. */
const char *query_page_row(const QueryPage *page, size_t i, size_t *ret_len);

/* The message of a Tail stream carrying one denial (its JSON text), NUL included, written into
 * pb (method-tail.c; the transport sends it to every subscriber). -ENOMEM. */
int tail_message_write(struct printbuf *pb, const char *denial, size_t len);
