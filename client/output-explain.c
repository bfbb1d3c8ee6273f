/* SPDX-License-Identifier: MIT */
/* avcctl explain's short output: one audit event, each of its denials as a block of labelled
 * lines, as audit2why would say it but named and container-aware:
 *
 *   Event 1088 at 2024-04-20 10:54:52.240 CEST (2 denials)
 *
 *   Denial 1 of 2: { write } on dir
 *     process     bash[21476]  /usr/bin/bash
 *     object      /root
 *     source      system_u:system_r:container_t:s0:c170,c393
 *     target      system_u:object_r:admin_home_t:s0
 *     container   web  id 4dd9367681d8  image centos:latest  engine docker  (by pid)
 *     reason      te: no allow rule lets the source type do this to the target type
 *     verdict     volume: a host path given to the container without a container label
 *     hint        Mount it with :Z ...
 *     policy now  /etc/selinux/default/policy/policy.33: te (as when it was stored)
 *
 * The words for reasons and verdicts are here (docs/triage.md has the same); the hint is the
 * daemon's. Every string that came from a record or a daemon is escaped (fputs_terminal_safe):
 * nothing here may act on the terminal. Lines are not cut: an explanation is read once, whole. */

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "output.h"
#include "strutil.h"
#include "timeparse.h"

#define ANSI_RESET "\033[0m"
#define ANSI_BOLD "\033[1m"
#define ANSI_RED "\033[31m"

static const struct {
        const char *name, *words;
} reason_words[] =
        {
                {"te", "no allow rule lets the source type do this to the target type"},
                {"boolean", "no allow rule now, but a boolean would allow it"},
                {"constraint",
                 "a constraint refused it (for containers: the MCS categories differ)"},
                {"rbac", "the source role may not have the target type"},
                {"bounds", "a bounded type asked for more than its parent type allows"},
                {"allowed", "the policy allows it now: the policy or a boolean changed since"},
                {"unknown",
                 "a type, class or permission this policy does not know: another policy's "
                 "denial"},
},
  verdict_words[] = {
          {"escape", "the container reached for what containers do not namespace"},
          {"isolation", "another container's data or process"},
          {"volume", "a host path given to the container without a container label"},
          {"boolean", "a documented switch allows it"},
          {"policy",
           "the container does what its type does not allow: it needs a policy of its own"},
};

static const char *words_of(const char *name, bool verdict) {
        size_t n = verdict ? ELEMENTSOF(verdict_words) : ELEMENTSOF(reason_words);
        for (size_t i = 0; name && i < n; i++) {
                const char *k = verdict ? verdict_words[i].name : reason_words[i].name;
                if (strcmp(k, name) == 0)
                        return verdict ? verdict_words[i].words : reason_words[i].words;
        }
        return NULL;
}

static const char *str(json_object *o, const char *key) {
        json_object *v;
        if (!o || !json_object_object_get_ex(o, key, &v) ||
            !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

static json_object *obj(json_object *o, const char *key) {
        json_object *v;
        if (!o || !json_object_object_get_ex(o, key, &v) ||
            !json_object_is_type(v, json_type_object))
                return NULL;
        return v;
}

static void put(const char *s, FILE *f) {
        fputs_terminal_safe(s ? s : "-", f);
}

static void label(const char *l, FILE *f) {
        fprintf(f, "  %-12s", l);
}

static bool has_words(json_object *o, const char *key) {
        json_object *a;
        return o && json_object_object_get_ex(o, key, &a) &&
               json_object_is_type(a, json_type_array) && json_object_array_length(a) > 0;
}

/* A list of strings as "a b c" (NULL, not an array or empty: false). */
static bool put_words(json_object *o, const char *key, const char *sep, FILE *f) {
        json_object *a;
        if (!o || !json_object_object_get_ex(o, key, &a) ||
            !json_object_is_type(a, json_type_array) || json_object_array_length(a) == 0)
                return false;
        for (size_t i = 0; i < json_object_array_length(a); i++) {
                json_object *w = json_object_array_get_idx(a, i);
                if (i > 0)
                        fputs(sep, f);
                put(json_object_is_type(w, json_type_string) ? json_object_get_string(w) : NULL, f);
        }
        return true;
}

/* A container object: name, id, image, engine, pod, namespace (those present). */
static void put_container_line(json_object *c, FILE *f) {
        static const char *const keys[] = {"image", "engine", "pod", "namespace"};
        const char *name = str(c, "name"), *id = str(c, "id");
        char short_id[13];

        put(name ? name : "(no name)", f);
        if (id) {
                snprintf(short_id, sizeof(short_id), "%s", id);
                fputs("  id ", f);
                put(short_id, f);
        }
        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                if (str(c, keys[i])) {
                        fprintf(f, "  %s ", keys[i]);
                        put(str(c, keys[i]), f);
                }
}

/* Text that may hold several lines (libsepol's constraint text): each line indented. */
static void put_block(const char *text, FILE *f) {
        const char *p = text;
        bool first = true;

        while (p && *p) {
                const char *nl = strchr(p, '\n');
                size_t n = nl ? (size_t) (nl - p) : strlen(p);
                _cleanup_(freep) char *line = strndup(p, n);
                if (n > 0 || !first) {
                        if (!first)
                                fprintf(f, "  %-12s", "");
                        if (line)
                                put(line, f);
                        fputc('\n', f);
                        first = false;
                }
                p = nl ? nl + 1 : NULL;
        }
        if (first)
                fputc('\n', f);
}

int output_explain_event_head(Output *o, json_object *denial, size_t n, size_t events) {
        char buf[OUTPUT_TIME_MAX];
        int64_t ms;
        json_object *serial;

        if (!json_object_is_type(denial, json_type_object))
                return -EBADMSG;
        if (o->mode != OUTPUT_SHORT)
                return 0;
        fputs("Event ", o->f);
        if (json_object_object_get_ex(denial, "serial", &serial) &&
            json_object_is_type(serial, json_type_int))
                fprintf(o->f, "%" PRId64, json_object_get_int64(serial));
        else
                fputc('-', o->f);
        fputs(" at ", o->f);
        if (str(denial, "time") && parse_time_spec(str(denial, "time"), 0, &ms) >= 0) {
                output_format_time(ms, o->utc, OUTPUT_TIME_MS, buf, sizeof(buf));
                fputs(buf, o->f);
        } else
                put(str(denial, "time"), o->f);
        fprintf(o->f, " (%zu denial%s)", n, n == 1 ? "" : "s");
        if (events > 1)
                fprintf(o->f, ", one of %zu events with this serial (newest first)", events);
        fputc('\n', o->f);
        return 0;
}

int output_explain_denial(Output *o, json_object *e, size_t index, size_t n) {
        json_object *d = obj(e, "denial");
        FILE *f = o->f;
        const char *verdict, *reason, *reason_now;
        json_object *v;

        if (!d)
                return -EBADMSG;
        if (o->mode == OUTPUT_JSON) {
                fputs(json_object_to_json_string_ext(e, JSON_C_TO_STRING_PLAIN), f);
                fputc('\n', f);
                return 0;
        }
        if (o->mode != OUTPUT_SHORT)
                return output_denial(o, d);

        reason = str(d, "reason");
        verdict = str(d, "verdict");
        reason_now = str(e, "reason_now");

        fprintf(f, "\nDenial %zu of %zu: ", index + 1, n);
        if (str(d, "result") && strcmp(str(d, "result"), "denied") != 0) {
                put(str(d, "result"), f);
                fputc(' ', f);
        }
        fputs("{ ", f);
        if (put_words(d, "permissions", " ", f))
                fputc(' ', f);
        fputs("} on ", f);
        put(str(d, "tclass"), f);
        fputc('\n', f);

        label("process", f);
        put(str(d, "comm"), f);
        if (json_object_object_get_ex(d, "pid", &v) && json_object_is_type(v, json_type_int))
                fprintf(f, "[%" PRId64 "]", json_object_get_int64(v));
        if (str(d, "exe")) {
                fputs("  ", f);
                put(str(d, "exe"), f);
        }
        fputc('\n', f);
        label("object", f);
        put(str(d, "path") ?: str(d, "name"), f);
        fputc('\n', f);
        label("source", f);
        put(str(d, "scontext"), f);
        fputc('\n', f);
        label("target", f);
        put(str(d, "tcontext"), f);
        fputc('\n', f);
        label("container", f);
        if (obj(d, "container")) {
                put_container_line(obj(d, "container"), f);
                fputs("  (by ", f);
                put(str(d, "attribution"), f);
                fputs(")", f);
        } else {
                fputs("none known (attribution: ", f);
                put(str(d, "attribution"), f);
                fputs(")", f);
        }
        fputc('\n', f);
        if (json_object_object_get_ex(d, "candidates", &v) &&
            json_object_is_type(v, json_type_array) && json_object_array_length(v) > 0) {
                label("candidates", f);
                for (size_t i = 0; i < json_object_array_length(v); i++) {
                        if (i > 0)
                                fputs(" | ", f);
                        put_container_line(json_object_array_get_idx(v, i), f);
                }
                fputc('\n', f);
        }
        if (obj(d, "target_container")) {
                label("target in", f);
                put_container_line(obj(d, "target_container"), f);
                fputc('\n', f);
        }

        label("reason", f);
        if (!reason)
                fputs("none: no policy was available when it was stored\n", f);
        else {
                put(reason, f);
                if (words_of(reason, false))
                        fprintf(f, ": %s", words_of(reason, false));
                fputc('\n', f);
        }
        if (has_words(d, "booleans")) {
                label("booleans", f);
                put_words(d, "booleans", ", ", f);
                fputs("  (setsebool -P NAME 1 turns one on, for every container)\n", f);
        }
        if (str(e, "constraint")) {
                label("constraint", f);
                put_block(str(e, "constraint"), f);
        }
        label("verdict", f);
        if (!verdict)
                fputs("none\n", f);
        else {
                bool loud = strcmp(verdict, "escape") == 0 || strcmp(verdict, "isolation") == 0;
                if (loud && o->color)
                        fputs(strcmp(verdict, "escape") == 0 ? ANSI_BOLD ANSI_RED : ANSI_RED, f);
                put(verdict, f);
                if (loud && o->color)
                        fputs(ANSI_RESET, f);
                if (words_of(verdict, true))
                        fprintf(f, ": %s", words_of(verdict, true));
                if (str(e, "reached")) {
                        fputs(" (", f);
                        put(str(e, "reached"), f);
                        fputc(')', f);
                }
                fputc('\n', f);
        }
        if (str(d, "hint")) {
                label("hint", f);
                put(str(d, "hint"), f);
                fputc('\n', f);
        }
        label("policy now", f);
        if (!str(e, "policy"))
                fputs("none loaded (triage is off)\n", f);
        else {
                put(str(e, "policy"), f);
                fputs(": ", f);
                if (!reason_now)
                        fputs("cannot tell (the denial lacks contexts)", f);
                else {
                        put(reason_now, f);
                        if (reason && strcmp(reason, reason_now) == 0)
                                fputs(" (as when it was stored)", f);
                        else if (reason)
                                fputs(" (changed since it was stored)", f);
                        if (json_object_object_get_ex(e, "dontaudit_now", &v) &&
                            json_object_get_boolean(v))
                                fputs(", hidden by a dontaudit rule", f);
                        if (has_words(e, "booleans_now")) {
                                fputs(", booleans that would allow it: ", f);
                                put_words(e, "booleans_now", ", ", f);
                        }
                }
                fputc('\n', f);
        }
        return 0;
}
