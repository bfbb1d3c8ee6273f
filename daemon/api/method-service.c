/* SPDX-License-Identifier: MIT */
/* org.varlink.service: GetInfo and GetInterfaceDescription, the introspection every Varlink
 * service offers (https://varlink.org/Service). The descriptions are compiled in from the
 * .varlink files (varlink-interface.c). */

#include "method.h"
#include "varlink-interface.h"
#include "varlink.h"

#define SERVER_URL "man:avcwatchd(8)"

void method_get_info(Connection *c, json_object *params) {
        static const char *const known[] = {NULL};
        if (!params_check_keys(c, params, known))
                return;

        json_object *p = json_object_new_object(), *interfaces = json_object_new_array();
        if (!p || !interfaces ||
            json_object_array_add(interfaces, json_object_new_string(VARLINK_INTERFACE_SERVICE)) <
                    0 ||
            json_object_array_add(interfaces, json_object_new_string(VARLINK_INTERFACE_AVCWATCH)) <
                    0 ||
            json_object_object_add(p, "vendor", json_object_new_string("avcwatch")) < 0 ||
            json_object_object_add(p, "product", json_object_new_string("avcwatchd")) < 0 ||
            json_object_object_add(p, "version", json_object_new_string(AVCWATCH_VERSION)) < 0 ||
            json_object_object_add(p, "url", json_object_new_string(SERVER_URL)) < 0 ||
            json_object_object_add(p, "interfaces", interfaces) < 0) {
                json_object_put(interfaces);
                json_object_put(p);
                connection_fail(c);
                return;
        }
        connection_reply(c, p, false);
}

void method_get_interface_description(Connection *c, json_object *params) {
        static const char *const known[] = {"interface", NULL};
        json_object *v;

        if (!params_check_keys(c, params, known))
                return;
        if (!json_object_object_get_ex(params, "interface", &v) ||
            !json_object_is_type(v, json_type_string)) {
                connection_send_invalid_parameter(c, "interface");
                return;
        }
        const char *description = varlink_interface_lookup(json_object_get_string(v));
        if (!description) {
                connection_send_error(c, ERROR_INTERFACE_NOT_FOUND, "interface",
                                      varlink_string_new(json_object_get_string(v)));
                return;
        }

        json_object *p = json_object_new_object();
        if (!p ||
            json_object_object_add(p, "description", json_object_new_string(description)) < 0) {
                json_object_put(p);
                connection_fail(c);
                return;
        }
        connection_reply(c, p, false);
}
