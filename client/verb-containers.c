/* SPDX-License-Identifier: MIT */
/* avcctl containers [--pod POD] [--namespace NS] [--sandboxes]: every container the daemon's
 * registry knows, also removed ones (io.avcwatch.Containers), newest first: engine, image, pod
 * and namespace, label, lifetime and the number of stored denials attributed to each. -o json
 * prints one object per container per line. A pod's sandbox ("pause") container is its pod, not
 * a workload: left out unless --sandboxes. --pod and --namespace keep the containers of those
 * pods / namespaces (repeatable, any of). */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "verbs.h"

#define CONTAINERS_MATCH_MAX 16 /* --pod / --namespace values, as for the filters */

enum {
        ARG_CONTAINERS_POD = 0x400,
        ARG_CONTAINERS_NAMESPACE,
        ARG_CONTAINERS_SANDBOXES,
};

typedef struct ContainersArgs {
        const char *pods[CONTAINERS_MATCH_MAX], *namespaces[CONTAINERS_MATCH_MAX];
        size_t n_pods, n_namespaces;
        bool sandboxes;
} ContainersArgs;

static int containers_parse_option(int c, const char *arg, void *userdata) {
        ContainersArgs *a = userdata;

        switch (c) {
        case ARG_CONTAINERS_POD:
        case ARG_CONTAINERS_NAMESPACE: {
                bool pod = c == ARG_CONTAINERS_POD;
                size_t *n = pod ? &a->n_pods : &a->n_namespaces;
                if (*n >= CONTAINERS_MATCH_MAX) {
                        fprintf(stderr, "avcctl containers: at most %d --%s values\n",
                                CONTAINERS_MATCH_MAX, pod ? "pod" : "namespace");
                        return -EINVAL;
                }
                (pod ? a->pods : a->namespaces)[(*n)++] = arg;
                return 0;
        }
        case ARG_CONTAINERS_SANDBOXES:
                a->sandboxes = true;
                return 0;
        default:
                return -ENOENT;
        }
}

static bool any_equal(const char *const *values, size_t n, const char *s) {
        if (n == 0)
                return true;
        for (size_t i = 0; s && i < n; i++)
                if (strcmp(values[i], s) == 0)
                        return true;
        return false;
}

static bool containers_wanted(const ContainersArgs *a, json_object *c) {
        json_object *v;
        if (!a->sandboxes && json_object_object_get_ex(c, "sandbox", &v) &&
            json_object_get_boolean(v))
                return false;
        const char *pod =
                json_object_object_get_ex(c, "pod", &v) && v ? json_object_get_string(v) : NULL;
        const char *ns = json_object_object_get_ex(c, "namespace", &v) && v
                                 ? json_object_get_string(v)
                                 : NULL;
        return any_equal(a->pods, a->n_pods, pod) && any_equal(a->namespaces, a->n_namespaces, ns);
}

int verb_containers(int argc, char *argv[], ClientContext *ctx) {
        static const struct option options[] = {
                {"pod", required_argument, NULL, ARG_CONTAINERS_POD},
                {"namespace", required_argument, NULL, ARG_CONTAINERS_NAMESPACE},
                {"sandboxes", no_argument, NULL, ARG_CONTAINERS_SANDBOXES},
                {}};
        ContainersArgs args = {};
        _cleanup_(varlink_reply_done) VarlinkReply reply = {};
        json_object *list, *truncated;
        Output out;
        int r, status;

        r = verb_parse_options(argc, argv, options, "", containers_parse_option, &args, ctx);
        if (r != 0)
                return r > 0 ? AVCCTL_EXIT_SUCCESS : AVCCTL_EXIT_FAILURE;

        status = client_call(ctx, "io.avcwatch.Containers", json_object_new_object(), &reply,
                             "containers", json_type_array, &list);
        if (status != AVCCTL_EXIT_SUCCESS)
                return status;

        client_output_init(&out, ctx);
        output_containers_header(&out);
        for (size_t i = 0; i < json_object_array_length(list); i++) {
                json_object *item = json_object_array_get_idx(list, i);
                if (json_object_is_type(item, json_type_object) && !containers_wanted(&args, item))
                        continue;
                r = output_container(&out, item);
                if (r < 0)
                        return client_io_failed(r);
        }
        if (ctx->output == OUTPUT_SHORT &&
            json_object_object_get_ex(reply.parameters, "truncated", &truncated) &&
            json_object_get_boolean(truncated))
                fprintf(stderr, "avcctl: only the newest %zu containers are shown.\n",
                        json_object_array_length(list));
        return client_flush_stdout();
}
