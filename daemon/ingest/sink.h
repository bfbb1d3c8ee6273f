/* SPDX-License-Identifier: MIT */
#pragma once

/* DenialSink: where an ingest hands its assembled denials on. The walk of a denial goes forward
 * only: a source hands lines to an Ingest, the Ingest hands denials to the sink it was given, and
 * the sink (the daemon's Pipeline: scope filter, expiry, attribution, coalescing, store) is
 * implemented below it, never by the manager. Tests pass a sink of their own. A plain value:
 * the functions and the object they act on. */

#include <stddef.h>
#include <stdint.h>

#include "denial.h"

/* Where a denial comes from: decides how it is attributed and whether it is history. */
typedef enum DenialOrigin {
        DENIAL_LIVE,     /* the daemon's input (netlink, stdin, a file) */
        DENIAL_BACKFILL, /* the downtime's records, read back from auditd's log at start-up */
        DENIAL_IMPORT,   /* `avcctl import`: history, not for tail subscribers nor the journal */
} DenialOrigin;

/* What DenialSink.keep did with a denial (reported per import, hence the names). */
typedef enum ImportOutcome {
        IMPORT_STORED,    /* a row of its own in the store */
        IMPORT_DUPLICATE, /* held already */
        IMPORT_FILTERED,  /* not a container denial */
        IMPORT_EXPIRED,   /* older than the retention keeps */
        IMPORT_LOST,      /* the store refused it (counted in the daemon's losses too) */
        IMPORT_FOLDED,    /* folded into a storm's summary row (live input only) */
        _IMPORT_OUTCOME_MAX,
} ImportOutcome;

typedef struct DenialSink {
        /* Filters, attributes and stores d (lent for the call): an ImportOutcome, or < 0 to
         * stop. */
        int (*keep)(void *userdata, Denial *d, DenialOrigin origin);
        /* Commits what is pending (the end of an import or of the backfill). */
        int (*commit)(void *userdata);
        /* Failed writes so far (may be NULL): a rise during an import means some of its stored
         * denials may have been lost with a batch. */
        uint64_t (*store_errors)(void *userdata);
        /* A MAC_POLICY_LOAD or MAC_CONFIG_CHANGE record on the live input (may be NULL): the
         * kernel's policy changed, denials from now on are to be triaged against the new one.
         * Events still being assembled when it arrives are triaged against the new one too. */
        void (*policy_changed)(void *userdata);
        /* The store's raw codec dictionaries, for an input that packs each denial's raw text on a
         * thread of its own (reader-thread.h, Denial.raw_packed); both may be NULL, the store
         * then packs it. raw_dictionary: the newest stored (*ret_id 0 when none; *ret
         * malloc'd), to begin with. add_raw_dictionary: commits what is pending, then stores
         * dict committed on its own, before any denial packed with it can reach the store; its
         * id in *ret_id. */
        int (*raw_dictionary)(void *userdata, int64_t *ret_id, void **ret, size_t *ret_len);
        int (*add_raw_dictionary)(void *userdata, const void *dict, size_t len, int64_t *ret_id);
        void *userdata;
} DenialSink;
