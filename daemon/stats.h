/* SPDX-License-Identifier: MIT */
#pragma once

/* The daemon's counters, exposed by io.avcwatch.Stats (api/stats-json.c) and STATUS=
 * (service/status.c): one block per stage, each written by that stage only (it is handed a
 * pointer to its block). Every way a record can be lost has a counter here (docs/api.md lists
 * them), and every loss also lands in a loss window: when it happened, how much of each kind;
 * windows are logged when they open and when they close, and the recent ones are in Stats. */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "ingest.h"
#include "verdict.h"

typedef enum LossKind {
        LOSS_SOCKET_DROPPED, /* records the audit socket dropped: its receive queue was full */
        LOSS_SERIAL_MISSED,  /* audit events whose serial never arrived (any cause) */
        LOSS_UNSTORED,       /* denials that could not be written to the store */
        _LOSS_KIND_MAX,
} LossKind;

typedef struct LossWindow {
        int64_t since_ms, until_ms; /* wall clock: the losses happened in between */
        uint64_t counts[_LOSS_KIND_MAX];
        uint64_t last_usec; /* monotonic time of the last loss added */
} LossWindow;

#define STATS_STORE_ERROR_MAX 256
#define STATS_LOSS_WINDOWS_MAX 16 /* recent windows kept for Stats */
/* A window closes (its summary is logged) after this long without a new loss. */
#define STATS_LOSS_QUIET_USEC (3ULL * 1000 * 1000)
/* Losses this close in time to the newest window belong to it. */
#define STATS_LOSS_MERGE_MS 1000

/* One container engine API client (daemon/attribution/engine.c), as `avcctl stats` shows it. */
#define STATS_ENGINES_MAX 2 /* docker, podman */
typedef struct EngineStats {
        char name[16];        /* "docker", "podman" */
        char socket[108];     /* sun_path */
        const char *state;    /* static: "disabled", "connecting", "connected", "unavailable" */
        int64_t since_ms;     /* of the state */
        uint64_t connects;    /* event streams opened */
        uint64_t events;      /* container events received */
        uint64_t inspects;    /* containers inspected */
        uint64_t failures;    /* failed connections and requests (engine absent counts once) */
        char last_error[128]; /* why the last connection or request failed, "" when none */
} EngineStats;

/* One CRI runtime's state directory watch (daemon/attribution/runtime-state.c). */
#define STATS_RUNTIMES_MAX 2 /* containerd, cri-o */
typedef struct RuntimeStats {
        char name[16];        /* "containerd", "cri-o" */
        char directory[256];  /* the directory watched (its containers' parent) */
        const char *state;    /* static: "disabled", "absent" (watched for), "watching" */
        int64_t since_ms;     /* of the state */
        uint64_t containers;  /* config.json documents recorded */
        uint64_t ended;       /* container directories removed (their end recorded) */
        uint64_t too_large;   /* config.json over RUNTIME_SPEC_SIZE_MAX: skipped */
        uint64_t malformed;   /* config.json not JSON, or never complete: skipped */
        uint64_t refused;     /* containers not followed: RUNTIME_PENDING_MAX waiting already */
        uint64_t inspects;    /* CRI-O HTTP inspects answered */
        uint64_t failures;    /* failed reads, watches and inspects */
        char last_error[128]; /* why the last one failed, "" when none */
} RuntimeStats;

/* Each stage counts into a block of its own, handed to it as a pointer to that block only; no
 * module writes another's block. stats.c reads them all (stats_to_json, status). */

/* The input source's (daemon/ingest/source.c). */
typedef struct SourceStats {
        uint64_t records_received;  /* lines / datagrams read */
        uint64_t records_malformed; /* truncated, not from the kernel, over-long */
        uint64_t netlink_enobufs;   /* times the kernel said ENOBUFS */
        bool input_eof;             /* a file / stdin input reached its end */
        char input[64];             /* "netlink", "file", "stdin" */
} SourceStats;

/* The pipeline's (daemon/pipeline.c): what became of the denials, and the store's health. */
typedef struct PipelineStats {
        uint64_t denials_seen;      /* verdict records in assembled events */
        uint64_t denials_filtered;  /* not a container denial: dropped by the scope filter */
        uint64_t denials_stored;    /* committed to the database */
        uint64_t denials_duplicate; /* already in the database (same node, time, serial, seq) */
        uint64_t denials_coalesced; /* folded into a storm's summary row instead of a row */
        uint64_t denials_expired;   /* older than [Retention] MaxAge=: not stored */
        uint64_t user_avc_from_containers; /* USER_AVCs sent from a container: its claims,
                                            * stored as attribution "sender" */
        uint64_t denials_selftest; /* avcctl selftest's own, vouched for (ingest/selftest.c);
                                    * in denials_stored too, which counts rows */
        uint64_t store_errors;     /* writes or commits that failed */
        uint64_t new_denials;      /* stored live denials whose signature their image's baseline had
                                    * not seen (store.h "Baseline"), committed */
        uint64_t baseline_untracked; /* live denials the baseline could not judge: it is full
                                      * (STORE_BASELINE_MAX) or could not be read */
        bool store_failing;          /* the last write to the store failed */
        bool store_damaged; /* SQLite said the file is corrupt: no more writes (not shown) */
        int64_t store_failing_since_ms;
        char store_error[STATS_STORE_ERROR_MAX]; /* why, while failing; else empty */
} PipelineStats;

/* The triage stage's (daemon/triage/triage.c): kept denials by verdict (each denial, also
 * those a storm folds into a summary), and those not triaged (no policy, or nothing to ask). */
typedef struct TriageStats {
        uint64_t verdicts[_TRIAGE_VERDICT_MAX]; /* by TriageVerdict */
        uint64_t untriaged;
        /* The one-off pass over denials stored before triage (triage-pass.h): rows given a
         * reason since the start, the time of the last row it read (0: not started), whether it
         * reached the end (also in an earlier run), its longest step. */
        uint64_t pass_triaged;
        int64_t pass_until_ms;
        bool pass_done;
        uint64_t pass_longest_usec;
} TriageStats;

/* The API server's transport (daemon/api/server.c). */
typedef struct ApiStats {
        uint64_t tail_subscribers;     /* current */
        uint64_t clients;              /* current connections */
        uint64_t clients_cut;          /* closed: unsent output over its bounds, or stalled */
        uint64_t clients_timed_out;    /* closed: a request not completed in time */
        uint64_t clients_evicted;      /* closed for a newcomer: all connections were taken */
        uint64_t clients_refused;      /* closed at accept: every connection was busy */
        uint64_t clients_unsent_bytes; /* replies queued for clients now, not yet sent */
} ApiStats;

/* The journal writer's (daemon/service/journal.c). */
typedef struct JournalStats {
        uint64_t journal_forwarded; /* denials sent to the journal ([Journal] ForwardDenials=) */
        uint64_t journal_failed;    /* denials dropped: our queue full, or journald not there */
        uint64_t journal_queued;    /* current: denials waiting for journald to take them */
} JournalStats;

/* The /proc scan's (daemon/attribution/proc-scan.c). */
typedef struct ProcScanStats {
        uint64_t proc_scans;      /* /proc scans done (0: ProcScan=no) */
        uint64_t proc_containers; /* containers the last scan saw */
} ProcScanStats;

/* The gap backfill's (daemon/ingest/backfill.c). */
typedef struct BackfillStats {
        char state[16]; /* "off" (also when empty), "none" (nothing to read), "running", "done" */
        int64_t since_ms, until_ms; /* the gap read back from the audit log */
        char from[16];      /* where since_ms came from: "live" (this daemon's live position),
                               "unfinished" (a backfill cut short), "stored" (the newest stored
                               denial: a database of an older version), "" none */
        uint64_t ignored;   /* stored denials dated after since_ms, not seen live (imported) */
        uint64_t files;     /* opened */
        IngestStats ingest; /* records: backfill_records; outcomes[STORED]: _denials */
} BackfillStats;

/* The loss ledger: written through stats_add_loss() only (by the source and the pipeline). */
typedef struct LossLedger {
        uint64_t netlink_dropped;  /* datagrams the socket reported dropped (SO_MEMINFO) */
        uint64_t serials_missed;   /* audit serials never received on the netlink socket */
        uint64_t denials_unstored; /* denials lost with failed writes */
        uint64_t loss_windows;     /* windows so far; the newest is windows[(n - 1) % MAX] */
        LossWindow windows[STATS_LOSS_WINDOWS_MAX];
        bool window_open;
        /* On the daemon's loop (loss_ledger_attach_event): closes the open window once it is
         * quiet; NULL: windows are closed by stats_close_loss_window() only. */
        sd_event_source *quiet_timer;
} LossLedger;

typedef struct Stats {
        SourceStats source;
        IngestStats ingest; /* the live input's parse and assembly (malformed, unstamped, ...) */
        PipelineStats pipeline;
        TriageStats triage;
        LossLedger losses;
        ApiStats api;
        JournalStats journal;
        ProcScanStats proc_scan;
        EngineStats engines[STATS_ENGINES_MAX]; /* one block per engine client */
        size_t n_engines;
        RuntimeStats runtimes[STATS_RUNTIMES_MAX]; /* one block per CRI runtime watched */
        size_t n_runtimes;
        BackfillStats backfill;
        uint64_t registry_containers; /* containers the registry holds in memory: set by the
                                       * Stats method on its own copy */
        int64_t started_ms;           /* the manager's */
} Stats;

/* At least this many audit events were lost: the larger of the socket's drops and the missing
 * serials (one dropped record and one missing serial are usually the same loss; a dropped record
 * of an event whose other records arrived is not a missing serial, a serial lost by the kernel
 * is not a drop), plus the denials that could not be stored. */
uint64_t stats_events_lost(const Stats *s);
uint64_t loss_ledger_events_lost(const LossLedger *l);

/* Counts n losses of one kind that happened between since_ms and until_ms (wall clock), at
 * now_usec (monotonic), into the counters and the open window (opening one, and logging it, when
 * none is). detail (may be NULL) says more in the log. */
void stats_add_loss(LossLedger *s, LossKind kind, uint64_t n, int64_t since_ms, int64_t until_ms,
                    uint64_t now_usec, const char *detail);
/* Closes the open window once it has been quiet for STATS_LOSS_QUIET_USEC, logging its summary.
 * Returns when to look again (monotonic usec), UINT64_MAX when no window is open. */
uint64_t stats_close_loss_window(LossLedger *s, uint64_t now_usec);
/* The ledger closes its windows itself, on a timer of e armed by each loss. */
int loss_ledger_attach_event(LossLedger *l, sd_event *e);
void loss_ledger_detach_event(LossLedger *l);
