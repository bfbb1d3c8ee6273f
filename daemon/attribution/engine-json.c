/* SPDX-License-Identifier: MIT */
/* Docker Engine API JSON (and Podman's compatible API) -> ContainerInfo and events.
 *
 * Decisions:
 * - The image is Config.Image, the name the user ran ("nginx:1.25", "localhost/app:test"); the
 *   top-level Image is a content digest nobody recognises in a report.
 * - The label: ProcessLabel is what SELinux hosts fill in. Where it is empty (SELinux disabled,
 *   or an engine that does not report it), a user's "label=level:s0:c1,c2" security option still
 *   says which categories the engine was told to use; it is kept as "level:s0:c1,c2" so that it
 *   is never mistaken for a full context. "label=disable" / spc_t have no categories.
 * - Times: Docker and Podman write RFC 3339 with nanoseconds; "0001-01-01T00:00:00Z" (Go's zero
 *   time) means never and becomes 0.
 * - Strings over CONTAINER_STRING_MAX, of the wrong JSON type, or with a NUL are unknown (NULL):
 *   cutting them would invent a name that may belong to another container. So are strings that
 *   are not valid UTF-8: no real engine sends them (Go's JSON encoder writes U+FFFD for such
 *   bytes), the Varlink API could only pass them on as the Latin-1 characters of the bytes
 *   (0xff 0xfe would show as "ÿþ", another name), and no client could ask for them by name. */

#include <errno.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "engine-json.h"
#include "macro.h"
#include "strutil.h"
#include "timeparse.h"

static json_object *parse(const char *json, size_t len) {
        json_tokener *tok;
        json_object *o;

        if (!json || len > INT32_MAX)
                return NULL;
        tok = json_tokener_new_ex(ENGINE_JSON_DEPTH_MAX);
        if (!tok)
                return NULL;
        o = json_tokener_parse_ex(tok, json, (int) len);
        if (o && json_tokener_get_error(tok) != json_tokener_success) {
                json_object_put(o);
                o = NULL;
        }
        json_tokener_free(tok);
        return o;
}

json_object *engine_json_get(json_object *o, const char *key) {
        json_object *v;
        if (!o || !json_object_is_type(o, json_type_object) ||
            !json_object_object_get_ex(o, key, &v))
                return NULL;
        return v;
}

const char *engine_json_get_string(json_object *o, const char *key) {
        json_object *v = engine_json_get(o, key);
        if (!v || !json_object_is_type(v, json_type_string))
                return NULL;
        int len = json_object_get_string_len(v);
        const char *s = json_object_get_string(v);
        if (len <= 0 || len > CONTAINER_STRING_MAX || strlen(s) != (size_t) len ||
            !utf8_is_valid(s))
                return NULL;
        return s;
}

static int dup_string(const char *s, char **ret) {
        if (!s)
                return 0;
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

/* RFC 3339 with any fraction; 0 for absent, zero or unparsable times. */
static int64_t get_time(json_object *o, const char *key) {
        const char *s = engine_json_get_string(o, key);
        int64_t ms;

        if (!s || !strchr(s, 'T') || parse_time_spec(s, 0, &ms) < 0 || ms <= 0)
                return 0;
        return ms;
}

/* "label=level:s0:c1,c2" (docker run --security-opt) or the older "label:level:s0:c1,c2". */
static const char *security_opt_level(json_object *opts) {
        if (!opts || !json_object_is_type(opts, json_type_array))
                return NULL;
        size_t n = json_object_array_length(opts);
        for (size_t i = 0; i < n; i++) {
                json_object *v = json_object_array_get_idx(opts, i);
                if (!v || !json_object_is_type(v, json_type_string))
                        continue;
                const char *s = json_object_get_string(v);
                if ((strncmp(s, "label=level:", 12) == 0 || strncmp(s, "label:level:", 12) == 0) &&
                    strlen(s) <= CONTAINER_STRING_MAX && utf8_is_valid(s))
                        return s + 6;
        }
        return NULL;
}

int engine_inspect_parse(const char *json, size_t len, const char *engine, ContainerInfo *ret) {
        _cleanup_(container_info_done) ContainerInfo c = {};
        json_object *o = parse(json, len);
        int r = 0;

        if (!o || !json_object_is_type(o, json_type_object)) {
                json_object_put(o);
                return -EBADMSG;
        }
        const char *id = engine_json_get_string(o, "Id");
        if (!container_id_is_valid(id)) {
                json_object_put(o);
                return -EBADMSG;
        }

        json_object *config = engine_json_get(o, "Config"), *state = engine_json_get(o, "State");
        json_object *labels = engine_json_get(config, "Labels");
        const char *name = engine_json_get_string(o, "Name");
        if (name && name[0] == '/')
                name = name[1] ? name + 1 : NULL;
        const char *image = engine_json_get_string(config, "Image");
        if (!image)
                image = engine_json_get_string(o, "Image");
        const char *label = engine_json_get_string(o, "ProcessLabel");
        if (!label)
                label = security_opt_level(
                        engine_json_get(engine_json_get(o, "HostConfig"), "SecurityOpt"));

        const struct {
                const char *value;
                char **dst;
        } strings[] = {
                {id, &c.id},
                {name, &c.name},
                {image, &c.image},
                {engine, &c.engine},
                {engine_json_get_string(labels, "io.kubernetes.pod.name"), &c.pod},
                {engine_json_get_string(labels, "io.kubernetes.pod.namespace"), &c.pod_namespace},
                {engine_json_get_string(labels, "com.docker.compose.project"), &c.compose_project},
                {engine_json_get_string(labels, "com.docker.compose.service"), &c.compose_service},
                {label, &c.label},
        };
        for (size_t i = 0; i < ELEMENTSOF(strings) && r >= 0; i++)
                r = dup_string(strings[i].value, strings[i].dst);
        if (r < 0) {
                json_object_put(o);
                return r;
        }
        if (c.label && container_label_mcs(c.label, &c.mcs) > 0)
                c.has_mcs = true;

        c.created_ms = get_time(o, "Created");
        c.started_ms = get_time(state, "StartedAt");
        c.finished_ms = get_time(state, "FinishedAt");
        json_object *running = engine_json_get(state, "Running");
        if (running && json_object_is_type(running, json_type_boolean))
                c.state = json_object_get_boolean(running) ? CONTAINER_STATE_RUNNING
                                                           : CONTAINER_STATE_EXITED;
        json_object_put(o);
        *ret = c;
        c = (ContainerInfo){};
        return 0;
}

void engine_ids_free(char **ids, size_t n) {
        if (!ids)
                return;
        for (size_t i = 0; i < n; i++)
                free(ids[i]);
        free(ids);
}

struct EngineListScanner {
        char **ids;
        size_t n_ids;
        int depth;                            /* arrays and objects open, outside strings */
        char open[ENGINE_JSON_DEPTH_MAX + 1]; /* '[' or '{' at each depth */
        bool started, done, failed;
        bool in_string, escape, string_bad, string_over;
        char string[CONTAINER_STRING_MAX + 1];
        size_t string_len;
        enum { ID_NONE, ID_COLON, ID_VALUE } id; /* after the key "Id" / after its colon */
        bool have_id;                            /* the current element gave its Id */
};

int engine_list_scanner_new(EngineListScanner **ret) {
        EngineListScanner *s = calloc(1, sizeof(EngineListScanner));
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

EngineListScanner *engine_list_scanner_free(EngineListScanner *s) {
        if (s) {
                engine_ids_free(s->ids, s->n_ids);
                free(s);
        }
        return NULL;
}

/* A string ended at the depth of the list's elements. */
static int scanner_string_end(EngineListScanner *s) {
        bool is_element = s->depth == 2 && s->open[1] == '{';
        if (!is_element)
                return 0;
        s->string[s->string_len] = 0;
        if (s->id == ID_VALUE) {
                s->id = ID_NONE;
                if (s->have_id)
                        return 0;
                s->have_id = true;
                if (s->string_bad || s->string_over || !container_id_is_valid(s->string) ||
                    s->n_ids >= ENGINE_LIST_MAX)
                        return 0;
                if (!s->ids) {
                        s->ids = calloc(ENGINE_LIST_MAX + 1, sizeof(char *));
                        if (!s->ids)
                                return -ENOMEM;
                }
                s->ids[s->n_ids] = strdup(s->string);
                if (!s->ids[s->n_ids])
                        return -ENOMEM;
                s->n_ids++;
                return 0;
        }
        /* A key when a colon follows; any other token resets this. */
        s->id = !s->string_bad && strcmp(s->string, "Id") == 0 ? ID_COLON : ID_NONE;
        return 0;
}

int engine_list_scanner_feed(EngineListScanner *s, const char *data, size_t len) {
        int r;

        if (!s || s->failed)
                return -EBADMSG;
        for (size_t i = 0; i < len; i++) {
                char ch = data[i];
                if (s->in_string) {
                        if (s->escape) {
                                s->escape = false;
                                s->string_bad = true; /* an id needs no escapes */
                        } else if (ch == '\\')
                                s->escape = true;
                        else if (ch == '"') {
                                s->in_string = false;
                                r = scanner_string_end(s);
                                if (r < 0)
                                        return r;
                        } else if ((unsigned char) ch < 0x20)
                                goto bad;
                        else if (s->string_len < CONTAINER_STRING_MAX)
                                s->string[s->string_len++] = ch;
                        else
                                s->string_over = true;
                        continue;
                }
                if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r')
                        continue;
                if (s->done || (!s->started && ch != '['))
                        goto bad;
                switch (ch) {
                case '"':
                        if (s->depth == 0)
                                goto bad;
                        s->in_string = true;
                        s->string_len = 0;
                        s->string_bad = s->string_over = false;
                        if (s->id == ID_COLON)
                                s->id = ID_NONE; /* "Id" was a value, not a key */
                        break;
                case ':':
                        s->id = s->id == ID_COLON ? ID_VALUE : ID_NONE;
                        break;
                case '[':
                case '{':
                        if (s->depth >= ENGINE_JSON_DEPTH_MAX)
                                goto bad;
                        s->open[s->depth++] = ch;
                        s->started = true;
                        s->id = ID_NONE;
                        break;
                case ']':
                case '}':
                        if (s->depth == 0 || s->open[s->depth - 1] != (ch == ']' ? '[' : '{'))
                                goto bad;
                        s->depth--;
                        if (s->depth == 1)
                                s->have_id = false; /* the element ended */
                        if (s->depth == 0)
                                s->done = true;
                        s->id = ID_NONE;
                        break;
                case ',':
                        if (s->depth == 1)
                                s->have_id = false;
                        s->id = ID_NONE;
                        break;
                default:
                        if (s->depth == 0)
                                goto bad;
                        s->id = ID_NONE; /* a number, true, false, null */
                        break;
                }
        }
        return 0;
bad:
        s->failed = true;
        return -EBADMSG;
}

int engine_list_scanner_finish(EngineListScanner *s, char ***ret_ids, size_t *ret_n) {
        if (!s)
                return -EINVAL;
        if (s->failed || !s->done) {
                engine_list_scanner_free(s);
                return -EBADMSG;
        }
        if (!s->ids) {
                s->ids = calloc(1, sizeof(char *));
                if (!s->ids) {
                        engine_list_scanner_free(s);
                        return -ENOMEM;
                }
        }
        *ret_ids = s->ids;
        *ret_n = s->n_ids;
        s->ids = NULL;
        s->n_ids = 0;
        engine_list_scanner_free(s);
        return 0;
}

int engine_list_parse(const char *json, size_t len, char ***ret_ids, size_t *ret_n) {
        EngineListScanner *s;
        int r;

        if (!json)
                return -EBADMSG;
        r = engine_list_scanner_new(&s);
        if (r < 0)
                return r;
        r = engine_list_scanner_feed(s, json, len);
        if (r < 0) {
                engine_list_scanner_free(s);
                return r;
        }
        return engine_list_scanner_finish(s, ret_ids, ret_n);
}

static const struct {
        const char *action;
        EngineAction what;
} actions[] = {
        {"create", ENGINE_ACTION_INSPECT},  {"start", ENGINE_ACTION_INSPECT},
        {"restart", ENGINE_ACTION_INSPECT}, {"rename", ENGINE_ACTION_INSPECT},
        {"update", ENGINE_ACTION_INSPECT},  {"unpause", ENGINE_ACTION_INSPECT},
        {"init", ENGINE_ACTION_INSPECT},    {"die", ENGINE_ACTION_DIE},
        {"died", ENGINE_ACTION_DIE},        {"destroy", ENGINE_ACTION_REMOVE},
        {"remove", ENGINE_ACTION_REMOVE},   {"cleanup", ENGINE_ACTION_IGNORE},
};

void engine_event_done(EngineEvent *e) {
        if (!e)
                return;
        free(e->name);
        free(e->image);
        e->name = e->image = NULL;
}

int engine_event_parse(const char *json, size_t len, EngineEvent *ret) {
        EngineEvent e = {};
        json_object *o = parse(json, len);
        int r = 0;

        if (!o || !json_object_is_type(o, json_type_object)) {
                json_object_put(o);
                return -EBADMSG;
        }
        /* Type (API >= 1.22) or, from older engines, only status + id. */
        const char *type = engine_json_get_string(o, "Type");
        const char *action = engine_json_get_string(o, "Action");
        if (!action)
                action = engine_json_get_string(o, "status");
        json_object *actor = engine_json_get(o, "Actor");
        const char *id = engine_json_get_string(actor, "ID");
        if (!id)
                id = engine_json_get_string(o, "id");

        if ((!type || strcmp(type, "container") == 0) && action && container_id_is_valid(id)) {
                for (size_t i = 0; i < ELEMENTSOF(actions); i++)
                        if (strcmp(action, actions[i].action) == 0) {
                                e.action = actions[i].what;
                                e.starts = strcmp(action, "start") == 0 ||
                                           strcmp(action, "restart") == 0;
                                break;
                        }
                strcpy(e.id, id);
        }
        json_object *nano = engine_json_get(o, "timeNano"), *secs = engine_json_get(o, "time");
        if (nano && json_object_is_type(nano, json_type_int) && json_object_get_int64(nano) > 0)
                e.time_ms = json_object_get_int64(nano) / 1000000;
        else if (secs && json_object_is_type(secs, json_type_int) &&
                 json_object_get_int64(secs) > 0 && json_object_get_int64(secs) < INT64_MAX / 1000)
                e.time_ms = json_object_get_int64(secs) * 1000;

        if (e.action != ENGINE_ACTION_IGNORE) {
                json_object *attrs = engine_json_get(actor, "Attributes");
                r = dup_string(engine_json_get_string(attrs, "name"), &e.name);
                if (r >= 0)
                        r = dup_string(engine_json_get_string(attrs, "image"), &e.image);
        }
        json_object_put(o);
        if (r < 0) {
                engine_event_done(&e);
                return r;
        }
        *ret = e;
        return 0;
}
