/* SPDX-License-Identifier: MIT */
#pragma once

/* Counters shared by the stages of the daemon; exposed by io.avcwatch.Stats. Every way a record
 * can be lost has a counter here (docs/api.md lists them). */

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct Stats {
        uint64_t records_received;  /* lines / datagrams read */
        uint64_t records_malformed; /* not in an accepted form, or incomplete */
        uint64_t records_unstamped; /* denials without audit(...) stamp: parsed, not stored */
        uint64_t records_ignored;   /* well-formed but not used (EXECVE, AppArmor, ...) */
        uint64_t denials_seen;      /* verdict records in assembled events */
        uint64_t denials_filtered;  /* not a container denial: dropped by the scope filter */
        uint64_t denials_stored;    /* committed to the database */
        uint64_t denials_duplicate; /* already in the database (same node, time, serial, seq) */
        uint64_t store_errors;     /* batches that failed to commit (rows counted in events_lost) */
        uint64_t events_lost;      /* total: netlink ENOBUFS overruns + socket drops + failed
                                      commits + events evicted with a truncated record list */
        uint64_t netlink_enobufs;  /* times the kernel said ENOBUFS */
        uint64_t netlink_dropped;  /* datagrams the socket reported dropped (SO_RXQ_OVFL) */
        uint64_t events_evicted;   /* in-flight events released early because the table was full */
        uint64_t tail_subscribers; /* current */
        uint64_t clients;          /* current connections */
        uint64_t clients_cut;      /* closed: unsent output over SERVER_OUTPUT_MAX */
        uint64_t clients_refused;  /* closed at accept: SERVER_CONNECTIONS_MAX were open */
        bool input_eof;            /* a file / stdin input reached its end */
        char input[64];            /* "netlink", "file", "stdin" */
        int64_t started_ms;
} Stats;

int stats_to_json(const Stats *s, json_object **ret);
