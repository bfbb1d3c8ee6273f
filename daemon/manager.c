/* SPDX-License-Identifier: MIT */
/* Manager: the daemon's event loop, the wiring between the stages, and its life (start-up,
 * reload, the end of input, shutdown).
 *
 *   source --line--> ingest (record parser, assembler) --Denial--> pipeline (scope filter,
 *          expiry, attributor, coalescer, store batch) --after commit--> tail subscribers, journal
 *
 * Direction: the manager builds every stage and hands each the next one: the sources get their
 * Ingest, every Ingest (live, backfill, import) gets the Pipeline's DenialSink. The walk of a
 * denial from the socket to the row goes forward only and never comes back here; the manager is
 * called only for what is its own: signals, the end of a file input, the store check's progress
 * at start-up, and the /proc scan's question which engines are followed.
 *
 * Decisions:
 * - One thread, one sd-event loop. Sources drain in bounded batches, so a flood of records
 *   cannot starve the API server; the pipeline batches SQLite writes.
 * - Timers run only while something is pending (the ingest's deadlines, the pipeline's open
 *   batch), so an idle daemon does not wake up.
 * - Nothing is dropped silently: every way to lose a record has a counter in Stats.
 * - A service manager's citizen (docs/systemd.md): sockets may be handed over (listen-fds.h);
 *   READY=1 once both are live and the store is open; STATUS= with the counters; RELOADING=1 /
 *   STOPPING=1; the watchdog is sd-event's. Every capability is dropped once start-up is done
 *   (privileges.h).
 * - Start-up fails cheaply first where it can: the database's directory is checked and its lock
 *   taken (store-lock.h: a second daemon on the same database stops there, told the pid of the
 *   first) before the store is opened. The API socket needs the store, so it is bound after it;
 *   a start that fails after creating a new database removes it again (manager_free), so a
 *   failed start leaves no empty database behind.
 * - Journal forwarding ([Journal] ForwardDenials=) sends each committed denial as one entry,
 *   never blocking (journal.h); it can be switched on and off by a reload. */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>
#include <time.h>
#include <unistd.h>

#include "attributor.h"
#include "backfill.h"
#include "clock.h"
#include "config-file.h"
#include "engine.h"
#include "runtime-state.h"
#include "ingest.h"
#include "journal.h"
#include "listen-fds.h"
#include "metrics.h"
#include "log.h"
#include "macro.h"
#include "manager.h"
#include "pipeline.h"
#include "privileges.h"
#include "proc-scan.h"
#include "reader-thread.h"
#include "registry.h"
#include "retention-pacer.h"
#include "server.h"
#include "source.h"
#include "stats.h"
#include "status.h"
#include "store-lock.h"
#include "store.h"
#include "triage-pass.h"
#include "triage.h"

#define STORE_CHECK_EXTEND_USEC (30 * 1000 * 1000) /* asked of the service manager per progress */
/* At exit, how long journald may take to accept what is still queued. */
#define JOURNAL_EXIT_FLUSH_USEC (2ULL * 1000000)

struct Manager {
        Config config;
        ConfigFile *config_file; /* re-read on SIGHUP */
        sd_event *event;
        StoreLock *store_lock; /* held from before the store is opened until after it is closed */
        bool remove_new_database; /* this start created it and has not succeeded (yet) */
        Store *store;
        Registry *registry;
        Attributor *attributor;
        Engine *engines[STATS_ENGINES_MAX];
        RuntimeState *runtimes[STATS_RUNTIMES_MAX]; /* containerd, CRI-O: their state directories */
        ProcScan *proc_scan;
        Server *server;
        Triage *triage;         /* the policy denials are triaged against (none: triage off) */
        Pipeline *pipeline;     /* where every ingest hands its denials: filter, attribute, store */
        Ingest *ingest;         /* the input's lines -> denials -> the pipeline */
        MetricsServer *metrics; /* NULL unless [Metrics] Listen= or a metrics socket passed */
        Source *source;
        ReaderThread *reader; /* instead of source and ingest: a regular file, read on a thread */
        Backfill *backfill;   /* the downtime's records from auditd's log, at start-up */
        RetentionPacer *retention;
        TriagePass *triage_pass; /* the one-off pass over denials stored before triage */
        StatusNotifier *status;
        JournalWriter *journal; /* NULL unless [Journal] ForwardDenials=yes */
        char api_path[sizeof(((struct sockaddr_un *) NULL)->sun_path) + 1]; /* what we serve */
        Stats stats;
        sd_event_source *sigterm, *sigint, *sighup;
        StoreChecked store_checked; /* what the open did about checking every page */
        sd_event_source *db_check;  /* the background check, after a start that did not check */
        bool live;                  /* netlink or stdin: clock deadlines and pid attribution */
        bool exit_on_eof;
};

/* store_open() reads every page of an existing database before writing to it after a stop that
 * was not clean or on request (a damaged file is refused, not written over): on a store of many GB
 * that takes minutes when the pages are not cached. The service manager hears that start-up goes
 * on, so that TimeoutStartSec= does not kill a daemon that is only checking (Type=notify,
 * EXTEND_TIMEOUT_USEC=). */
static void on_store_check_progress(void *userdata, uint64_t elapsed_usec) {
        Manager *m = userdata;

        if (elapsed_usec < 2 * STORE_PROGRESS_USEC)
                log_info("Checking the database '%s' before writing to it (every page: a large "
                         "store takes a while).",
                         m->config.database);
        (void) sd_notifyf(false,
                          "EXTEND_TIMEOUT_USEC=%" PRIu64 "\nSTATUS=Checking the database (%" PRIu64
                          " s so far).",
                          (uint64_t) STORE_CHECK_EXTEND_USEC, elapsed_usec / 1000000);
}

/* [Journal] ForwardDenials= at start-up and on reload. */
static int manager_set_journal_forwarding(Manager *m, bool on) {
        int r;

        if (!on) {
                /* what journald has not taken yet is counted as failed, not waited for */
                pipeline_set_journal(m->pipeline, NULL);
                journal_writer_flush(m->journal, 0);
                m->journal = journal_writer_free(m->journal);
                return 0;
        }
        if (m->journal)
                return 0;
        r = journal_writer_new(NULL, &m->journal);
        if (r >= 0)
                r = journal_writer_attach_event(m->journal, m->event, &m->stats.journal);
        if (r < 0) {
                m->journal = journal_writer_free(m->journal);
                return log_error_errno(r, "Failed to set up journal forwarding: %m");
        }
        pipeline_set_journal(m->pipeline, m->journal);
        return 0;
}

static void on_eof(void *userdata) {
        Manager *m = userdata;

        (void) ingest_flush(m->ingest);
        pipeline_flush(m->pipeline);
        log_info("Input reached its end: %" PRIu64 " records, %" PRIu64 " denials stored, %" PRIu64
                 " malformed.",
                 m->stats.source.records_received, m->stats.pipeline.denials_stored,
                 m->stats.source.records_malformed + m->stats.ingest.malformed);
        if (m->exit_on_eof)
                sd_event_exit(m->event, 0);
        else {
                char text[STATUS_TEXT_MAX];
                status_format(&m->stats, text, sizeof(text));
                (void) sd_notifyf(false, "STATUS=Input complete, serving queries: %s", text);
        }
}

/* What can change at run time: the scope filter, journal forwarding and retention; the config
 * module names every other setting that changed (they need a restart). */
static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;
        ConfigChanges changes;

        /* MONOTONIC_USEC: systemd >= 253 matches the reload to this notification */
        (void) sd_notifyf(false, "RELOADING=1\nMONOTONIC_USEC=%" PRIu64, now_monotonic_usec());
        if (config_file_reload(m->config_file, &m->config, &changes) < 0)
                log_warning("Reload failed, keeping the running configuration.");
        else {
                if (changes.retention) {
                        retention_pacer_restart(m->retention);
                        log_info("Retention: MaxAge=%" PRIi64 " s, MaxSize=%" PRIu64
                                 " bytes (0: none).",
                                 m->config.max_age_ms / 1000, m->config.max_bytes);
                }
                if (changes.triage_policy &&
                    triage_reload(m->triage, m->config.triage_policy, "Policy= changed") < 0)
                        log_error("Out of memory reloading the triage policy; triage is off.");
                if (changes.journal_forward &&
                    manager_set_journal_forwarding(m, changes.journal_forward_to) >= 0) {
                        m->config.journal_forward = changes.journal_forward_to;
                        log_info("Forwarding denials to the journal: %s.",
                                 changes.journal_forward_to ? "on" : "off");
                }
                log_info("Configuration reloaded from %s.", config_file_path(m->config_file));
        }
        (void) sd_notify(false, "READY=1");
        return 0;
}

static int on_exit_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;
        sd_event_exit(m->event, 0);
        return 0;
}

/* The /proc scan leaves the end of these containers to their engine's events. */
static bool engine_followed(const char *engine, void *userdata) {
        Manager *m = userdata;
        for (size_t i = 0; i < ELEMENTSOF(m->engines); i++)
                if (m->engines[i] && strcmp(engine_name(m->engines[i]), engine) == 0)
                        return engine_is_connected(m->engines[i]);
        for (size_t i = 0; i < ELEMENTSOF(m->runtimes); i++)
                if (m->runtimes[i] && strcmp(runtime_state_engine(m->runtimes[i]), engine) == 0)
                        return runtime_state_is_watching(m->runtimes[i]);
        return false;
}

/* ---- start-up, one stage at a time ---- */

/* The Prometheus endpoint, off unless configured or its socket is passed (docs/metrics.md). */
static int manager_setup_metrics(Manager *m, int metrics_fd) {
        const char *where = metrics_fd >= 0 ? "the passed socket" : m->config.metrics_listen;
        int r;

        if (metrics_fd < 0 && !m->config.metrics_listen)
                return 0;
        r = metrics_server_new(m->event, metrics_fd, m->config.metrics_listen, m->store, &m->stats,
                               m->config.metrics_top, &m->metrics);
        if (r < 0) {
                if (metrics_fd >= 0)
                        (void) close(metrics_fd);
                return log_error_errno(r, "Failed to serve metrics on %s: %m", where);
        }
        log_info("Serving metrics on %s.", where);
        return 0;
}

/* Files the store will not write to, and why: each is left byte for byte as it is. */
static const struct {
        int error;
        const char *why;
} store_refusals[] = {
        {-EBADMSG, "it is not an avcwatch database (left untouched)."},
        {-EMEDIUMTYPE,
         "it is an avcwatch database of an older schema (avcwatch 0.1), left untouched. Move it "
         "aside and import the audit logs again (avcctl import)."},
        {-EPROTONOSUPPORT, "it was written by a newer avcwatch (left untouched)."},
        {-EUCLEAN,
         "the database is damaged (PRAGMA quick_check fails), left untouched. Move it aside; the "
         "SQLite shell's .recover may save its rows."},
};

typedef struct {
        char text[64];
} HolderName;

/* "avcwatchd (pid 1234)" for the lock's holder, as /proc names it. */
static HolderName holder_name(pid_t pid) {
        HolderName n = {};
        char path[64], comm[32] = "";
        FILE *f;

        if (pid <= 0) {
                snprintf(n.text, sizeof(n.text), "another process");
                return n;
        }
        snprintf(path, sizeof(path), "/proc/%d/comm", (int) pid);
        f = fopen(path, "re");
        if (f) {
                if (fgets(comm, sizeof(comm), f))
                        comm[strcspn(comm, "\n")] = 0;
                fclose(f);
        }
        snprintf(n.text, sizeof(n.text), "%s (pid %d)", comm[0] ? comm : "another process",
                 (int) pid);
        return n;
}

static int manager_open_store(Manager *m) {
        char error[STORE_OPEN_ERROR_MAX];
        pid_t holder;
        int r;

        r = mkdir_parents(m->config.database, 0750);
        if (r < 0)
                return log_error_errno(r, "Failed to create the directory of '%s': %m",
                                       m->config.database);
        /* What would make creating the lock file fail, said as the store would say it. */
        r = store_check_directory(m->config.database, error, sizeof(error));
        if (r < 0)
                return log_error_errno(r, "Failed to open the store '%s': %s", m->config.database,
                                       error);
        /* Before anything is opened or created: a second daemon on this database stops here. */
        r = store_lock_take(m->config.database, &m->store_lock, &holder);
        if (r == -EBUSY)
                return log_error_errno(
                        r,
                        "Refusing '%s': %s is using it (it holds the lock on '%s.lock'). "
                        "Stop that one first, or give this one another database "
                        "(--db).",
                        m->config.database, holder_name(holder).text, m->config.database);
        if (r < 0)
                return log_error_errno(r,
                                       "Failed to create or lock '%s.lock' beside the database: %m",
                                       m->config.database);
        /* A start that fails from here on leaves no new database behind (manager_free). */
        m->remove_new_database = access(m->config.database, F_OK) < 0 && errno == ENOENT;

        uint64_t check_start = now_monotonic_usec();
        StoreChecked checked = STORE_CHECKED_NEW;
        m->store_checked = STORE_CHECKED_NEW;
        r = store_open_checked(m->config.database, m->config.check_database, STORE_PROGRESS_USEC,
                               on_store_check_progress, m, error, sizeof(error), &checked,
                               &m->store);
        if (r >= 0)
                m->store_checked = checked;
        if (r >= 0 && store_checked_ran(checked))
                log_info("Checked the database '%s' (every page, PRAGMA quick_check) in %.1f s: "
                         "%s.",
                         m->config.database,
                         (double) (now_monotonic_usec() - check_start) / 1000000,
                         store_checked_to_string(checked) + strlen("checked: "));
        else if (r >= 0 && checked != STORE_CHECKED_NEW)
                log_info("Database '%s' %s (avcwatchd --check-db checks every page).",
                         m->config.database, store_checked_to_string(checked));
        for (size_t i = 0; i < ELEMENTSOF(store_refusals); i++)
                if (r == store_refusals[i].error)
                        return log_error_errno(r, "Refusing '%s': %s", m->config.database,
                                               store_refusals[i].why);
        if (r < 0 && error[0])
                return log_error_errno(r, "Failed to open the store '%s': %s", m->config.database,
                                       error);
        if (r < 0)
                return log_error_errno(r, "Failed to open the store '%s': %m", m->config.database);
        r = registry_new(m->store, &m->registry);
        if (r < 0)
                return log_error_errno(r, "Failed to load the container registry from '%s': %m",
                                       m->config.database);
        r = attributor_new("/proc", &m->attributor);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the attributor: %m");
        attributor_set_registry(m->attributor, m->registry);
        return 0;
}

/* The API server (on api_fd when the service manager passed it) and the pipeline behind it. */
static int manager_setup_api_and_pipeline(Manager *m, int api_fd) {
        int r;

        listen_fds_api_path(api_fd, m->config.socket, m->api_path, sizeof(m->api_path));
        if (api_fd < 0) {
                r = mkdir_parents(m->config.socket, 0755);
                if (r < 0)
                        return log_error_errno(r, "Failed to create the directory of '%s': %m",
                                               m->config.socket);
        }
        r = server_new(m->event, api_fd, m->config.socket,
                       access_group_lookup(m->config.access_group), m->store, &m->stats,
                       &m->server);
        if (r < 0)
                return log_error_errno(r, "Failed to listen on '%s': %m", m->config.socket);
        server_set_registry(m->server, m->registry);

        /* netlink or stdin: clock deadlines, storms folded, pids asked first */
        m->live = strcmp(m->config.input, "netlink") == 0 || strcmp(m->config.input, "-") == 0;
        r = pipeline_new(m->event, &m->config, m->live, m->store, m->attributor, m->registry,
                         m->server, &m->stats.pipeline, &m->stats.losses, &m->stats.api,
                         &m->pipeline);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the pipeline: %m");
        server_set_importer(m->server, pipeline_new_importer, m->pipeline);
        r = triage_new(m->config.triage_policy, CONFIG_KERNEL_POLICY, &m->stats.triage, &m->triage);
        if (r < 0)
                return log_error_errno(r, "Failed to set up triage: %m");
        pipeline_set_triage(m->pipeline, m->triage);
        server_set_triage(m->server, m->triage);
        return manager_set_journal_forwarding(m, m->config.journal_forward);
}

/* The container engines' APIs, each optional: absent ones are retried in the background. */
static int manager_setup_engines(Manager *m) {
        const struct {
                const char *name, *socket;
        } engines[STATS_ENGINES_MAX] = {
                {"docker", m->config.docker_socket},
                {"podman", m->config.podman_socket},
        };
        int r;

        for (size_t i = 0; i < ELEMENTSOF(engines); i++) {
                EngineStats *es = &m->stats.engines[m->stats.n_engines++];
                if (!engines[i].socket) {
                        engine_stats_disabled(es, engines[i].name);
                        continue;
                }
                r = engine_new(m->event, engines[i].name, engines[i].socket, m->registry, es,
                               &m->engines[i]);
                if (r < 0)
                        return log_error_errno(r, "Failed to set up the %s client: %m",
                                               engines[i].name);
        }
        /* The CRI runtimes' state directories, each optional: absent ones are looked for in the
         * background. */
        const struct {
                RuntimeKind kind;
                const char *directory, *socket;
        } runtimes[STATS_RUNTIMES_MAX] = {
                {RUNTIME_CONTAINERD, m->config.containerd_state, NULL},
                {RUNTIME_CRIO, m->config.crio_run_root, m->config.crio_socket},
        };
        for (size_t i = 0; i < ELEMENTSOF(runtimes); i++) {
                RuntimeStats *rs = &m->stats.runtimes[m->stats.n_runtimes++];
                if (!runtimes[i].directory) {
                        runtime_stats_disabled(rs, runtimes[i].kind);
                        continue;
                }
                r = runtime_state_new(m->event, runtimes[i].kind, runtimes[i].directory,
                                      runtimes[i].socket, m->registry, rs, &m->runtimes[i]);
                if (r < 0)
                        return log_error_errno(r, "Failed to set up the %s watch: %m",
                                               runtime_kind_engine(runtimes[i].kind));
        }
        if (m->config.proc_scan) {
                r = proc_scan_new(m->event, "/proc", m->registry, &m->stats.proc_scan,
                                  engine_followed, m, &m->proc_scan);
                if (r < 0)
                        return log_error_errno(r, "Failed to set up the /proc scan: %m");
        }
        return 0;
}

/* The input: the audit socket (netlink_fd when passed) or a file / stdin, into the live ingest;
 * with netlink, the gap backfill. */
static int manager_setup_input(Manager *m, int netlink_fd) {
        bool netlink = strcmp(m->config.input, "netlink") == 0;
        int64_t year_ref_ms = 0;
        struct stat st = {};
        int r;

        if (netlink_fd >= 0 && !netlink) {
                log_notice("Input is '%s': closing the audit socket passed by the service "
                           "manager.",
                           m->config.input);
                (void) close(netlink_fd);
                netlink_fd = -EBADF;
        }
        /* journalctl text lines in an input file are dated with the year of its mtime. */
        if (!m->live && stat(m->config.input, &st) >= 0)
                year_ref_ms = (int64_t) st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
        IngestOptions options = {.mode = m->live ? ASSEMBLER_CLOCK : ASSEMBLER_POSITION,
                                 .origin = DENIAL_LIVE,
                                 .year_ref_ms = year_ref_ms,
                                 .event = m->event};
        /* A regular file is read, parsed and assembled on a thread of its own, the rest of the
         * walk stays on this loop (ingest/reader-thread.h): two cores for an import. */
        if (!netlink && !m->live && S_ISREG(st.st_mode)) {
                _cleanup_(closep) int fd = open(m->config.input, O_RDONLY | O_CLOEXEC | O_NOCTTY);
                if (fd < 0)
                        return log_error_errno(negative_errno(), "Failed to open input '%s': %m",
                                               m->config.input);
                r = reader_thread_new(m->event, fd, &options, pipeline_sink(m->pipeline),
                                      &m->stats.ingest, &m->stats.source, on_eof, m, &m->reader);
                if (r < 0)
                        return log_error_errno(r, "Failed to start reading '%s': %m",
                                               m->config.input);
                TAKE_FD(fd);
                return 0;
        }
        r = ingest_new(&options, pipeline_sink(m->pipeline), &m->stats.ingest, &m->ingest);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the input's assembly: %m");
        if (!netlink) {
                m->exit_on_eof = strcmp(m->config.input, "-") == 0;
                r = source_new_file(m->event, m->config.input, &m->stats.source, ingest_line,
                                    m->ingest, on_eof, m, &m->source);
                if (r < 0)
                        return log_error_errno(r, "Failed to open input '%s': %m", m->config.input);
                return 0;
        }

        r = source_new_netlink(m->event, netlink_fd, &m->stats.source, &m->stats.losses,
                               ingest_line, m->ingest, &m->source);
        if (r == -EPERM)
                return log_error_errno(r, "Failed to bind the audit multicast group: "
                                          "CAP_AUDIT_READ is needed, or the socket "
                                          "passed by the service manager "
                                          "(avcwatchd.socket: ListenNetlink=audit 1).");
        if (r < 0)
                return log_error_errno(r, "Failed to open the audit netlink socket: %m");
        /* From here on the kernel sends us every record: the gap ends now. */
        /* Backfill=auto reads the journal only when AuditLog= names a file that is not there:
         * AuditLog= empty keeps meaning no backfill, as before Backfill= existed. */
        BackfillMode mode = m->config.backfill;
        BackfillSources from = {
                .audit_log = mode == BACKFILL_AUTO || mode == BACKFILL_AUDITLOG
                                     ? m->config.audit_log
                                     : NULL,
                .journal =
                        mode == BACKFILL_JOURNAL || (mode == BACKFILL_AUTO && m->config.audit_log),
                .journal_directory = m->config.journal_directory,
        };
        return backfill_start(m->event, &from, m->store, now_realtime_ms(),
                              pipeline_sink(m->pipeline), &m->stats.backfill, &m->backfill);
}

static int manager_setup_timers_and_signals(Manager *m) {
        sigset_t mask;
        int r;

        r = loss_ledger_attach_event(&m->stats.losses, m->event);
        if (r < 0)
                return log_error_errno(r, "Failed to add the timer: %m");
        r = retention_pacer_new(m->event, m->store, &m->config, &m->stats.pipeline, &m->retention);
        if (r < 0)
                return log_error_errno(r, "Failed to add the timer: %m");
        r = triage_pass_new(m->event, m->store, m->triage, &m->stats.pipeline, &m->stats.triage,
                            &m->triage_pass);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the triage pass: %m");

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        if (sd_event_add_signal(m->event, &m->sigterm, SIGTERM, on_exit_signal, m) < 0 ||
            sd_event_add_signal(m->event, &m->sigint, SIGINT, on_exit_signal, m) < 0 ||
            sd_event_add_signal(m->event, &m->sighup, SIGHUP, on_sighup, m) < 0)
                return log_error_errno(-EIO, "Failed to set up signal handling.");

        r = status_notifier_new(m->event, &m->stats, &m->status);
        if (r < 0)
                return log_error_errno(r, "Failed to set up status notifications: %m");
        return 0;
}

/* Everything that needed privilege is done: sockets bound, store open. */
static int manager_drop_privileges(void) {
        uint64_t had = 0;
        int r;

        (void) privileges_get(&had, NULL, NULL);
        r = privileges_drop(PRIVILEGES_KEEP, NULL);
        if (r < 0)
                return log_error_errno(r, "Failed to drop capabilities: %m");
        if (had != 0)
                log_info("Start-up done; dropped all capabilities.");
        return 0;
}

int manager_new(Config *config, const char *config_path, bool config_required,
                const ConfigOverrides *overrides, Manager **ret) {
        _cleanup_(manager_freep) Manager *m = NULL;
        Config taken = *config;
        int api_fd, netlink_fd, metrics_fd, r;

        *config = (Config){};
        m = calloc(1, sizeof(Manager));
        if (!m) {
                config_done(&taken);
                return -ENOMEM;
        }
        m->config = taken;
        r = config_file_new(config_path, config_required, overrides, &m->config_file);
        if (r < 0)
                return r;
        m->stats.started_ms = (int64_t) time(NULL) * 1000;

        /* A loop of our own, not the thread's default one: sd-event checks that the default loop
         * runs on its thread with a gettid() system call every iteration (thousands a second
         * while the kernel's records stream in); nothing here looks the default loop up. */
        r = sd_event_new(&m->event);
        if (r < 0)
                return log_error_errno(r, "Failed to allocate the event loop: %m");
        (void) sd_event_set_watchdog(m->event, true);

        r = manager_open_store(m);
        if (r < 0)
                return r;
        listen_fds_take(&api_fd, &netlink_fd, &metrics_fd);
        r = manager_setup_api_and_pipeline(m, api_fd);
        if (r >= 0)
                r = manager_setup_metrics(m, metrics_fd);
        if (r >= 0)
                r = manager_setup_engines(m);
        if (r >= 0)
                r = manager_setup_input(m, netlink_fd);
        if (r >= 0)
                r = manager_setup_timers_and_signals(m);
        if (r >= 0)
                r = manager_drop_privileges();
        if (r < 0)
                return r;

        m->remove_new_database = false;
        *ret = TAKE_PTR(m);
        return 0;
}

/* A start that failed after it created the database: the file and SQLite's companions go, so
 * that a failed start (the socket in use, no permission) leaves no empty database behind. The
 * store is closed and its lock still held. */
static void remove_new_database(const char *path) {
        static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};

        for (size_t i = 0; i < ELEMENTSOF(suffix); i++) {
                _cleanup_(freep) char *file = NULL;
                if (asprintf(&file, "%s%s", path, suffix[i]) < 0)
                        return;
                if (unlink(file) < 0 && errno != ENOENT)
                        log_warning_errno(negative_errno(), "Failed to remove '%s': %m", file);
        }
        log_info("Removed the database '%s' this failed start had created.", path);
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;
        m->source = source_free(m->source);
        m->reader = reader_thread_free(m->reader); /* hands on what it read */
        m->backfill = backfill_free(m->backfill);  /* keeps what it read */
        m->status = status_notifier_free(m->status);
        (void) ingest_flush(m->ingest);
        pipeline_flush(m->pipeline);
        m->ingest = ingest_free(m->ingest);
        m->pipeline = pipeline_free(m->pipeline);
        m->triage_pass = triage_pass_free(m->triage_pass); /* before the triage it asks */
        m->triage = triage_free(m->triage);
        m->retention = retention_pacer_free(m->retention);
        m->metrics = metrics_server_free(m->metrics);
        m->server = server_free(m->server);
        m->proc_scan = proc_scan_free(m->proc_scan);
        for (size_t i = 0; i < ELEMENTSOF(m->engines); i++)
                m->engines[i] = engine_free(m->engines[i]);
        for (size_t i = 0; i < ELEMENTSOF(m->runtimes); i++)
                m->runtimes[i] = runtime_state_free(m->runtimes[i]);
        m->attributor = attributor_free(m->attributor);
        m->registry = registry_free(m->registry);
        m->db_check = sd_event_source_disable_unref(m->db_check);
        m->store = store_free(m->store);
        if (m->remove_new_database)
                remove_new_database(m->config.database);
        m->store_lock = store_lock_release(m->store_lock);
        m->journal = journal_writer_free(m->journal);
        loss_ledger_detach_event(&m->stats.losses);
        sd_event_source_unref(m->sigterm);
        sd_event_source_unref(m->sigint);
        sd_event_source_unref(m->sighup);
        sd_event_unref(m->event);
        config_done(&m->config);
        config_file_free(m->config_file);
        free(m);
        return NULL;
}

/* The background check is done: a damaged file is written to no more, as when SQLite reports it
 * in a commit. */
static int on_db_check_done(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Manager *m = userdata;
        int r = store_check_background_result(m->store);

        if (r == -EAGAIN)
                return 0;
        m->db_check = sd_event_source_disable_unref(m->db_check);
        if (r == -EUCLEAN) {
                log_error("The background check of the database '%s' found it damaged (%s).",
                          m->config.database, store_last_error(m->store));
                pipeline_store_damaged(m->pipeline);
        } else if (r < 0)
                log_warning_errno(r, "Could not check the database '%s' in the background: %s",
                                  m->config.database, store_last_error(m->store));
        else
                log_info("The database '%s' is sound: every page read in the background.",
                         m->config.database);
        return 0;
}

/* After a start that did not check because the last stop was clean: every page is read all the
 * same, on a connection and a thread of its own, while ingest goes on. */
static void manager_start_db_check(Manager *m) {
        int fd, r;

        if (m->store_checked != STORE_SKIPPED_CLEAN)
                return;
        fd = store_check_background_start(m->store);
        r = fd < 0 ? fd : sd_event_add_io(m->event, &m->db_check, fd, EPOLLIN, on_db_check_done, m);
        if (r >= 0)
                r = sd_event_source_set_priority(m->db_check, SD_EVENT_PRIORITY_IDLE);
        if (r < 0)
                log_warning_errno(r, "Could not start the background check of '%s': %m",
                                  m->config.database);
}

int manager_run(Manager *m) {
        int r;

        (void) sd_notifyf(false, "READY=1\nSTATUS=Reading %s; API on %s.", m->config.input,
                          m->api_path);
        log_info("Reading %s, storing in %s, serving %s.", m->config.input, m->config.database,
                 m->api_path);
        manager_start_db_check(m);
        r = sd_event_loop(m->event);
        (void) sd_notify(false, "STOPPING=1\nSTATUS=Stopping: storing what is pending.");
        reader_thread_stop(m->reader);
        (void) ingest_flush(m->ingest);
        pipeline_flush(m->pipeline);
        journal_writer_flush(m->journal, JOURNAL_EXIT_FLUSH_USEC);
        log_info("Stopped: %" PRIu64 " records received, %" PRIu64 " denials stored, %" PRIu64
                 " lost.",
                 m->stats.source.records_received, m->stats.pipeline.denials_stored,
                 stats_events_lost(&m->stats));
        return r;
}
