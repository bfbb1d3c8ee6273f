/* SPDX-License-Identifier: MIT */
/* The interface descriptions served by GetInterfaceDescription. io.avcwatch's text is generated at
 * build time from daemon/api/io.avcwatch.varlink (see daemon/CMakeLists.txt), so the file a reader
 * opens and the text a client fetches cannot drift apart. */

#include <string.h>

#include "varlink-interface-text.h"
#include "varlink-interface.h"

const char varlink_interface_avcwatch[] = VARLINK_INTERFACE_AVCWATCH_TEXT;

const char varlink_interface_service[] =
        "# The Varlink Service Interface is provided by every varlink service. It\n"
        "# describes the service and the interfaces it implements.\n"
        "interface org.varlink.service\n"
        "\n"
        "# Get a list of all the interfaces a service provides and information\n"
        "# about the implementation.\n"
        "method GetInfo() -> (\n"
        "  vendor: string,\n"
        "  product: string,\n"
        "  version: string,\n"
        "  url: string,\n"
        "  interfaces: []string\n"
        ")\n"
        "\n"
        "# Get the description of an interface that is implemented by this service.\n"
        "method GetInterfaceDescription(interface: string) -> (description: string)\n"
        "\n"
        "# The requested interface was not found.\n"
        "error InterfaceNotFound (interface: string)\n"
        "\n"
        "# The requested method was not found\n"
        "error MethodNotFound (method: string)\n"
        "\n"
        "# The interface defines the requested method, but the supplied parameters\n"
        "# are not supported.\n"
        "error MethodNotImplemented (method: string)\n"
        "\n"
        "# One of the passed parameters is invalid.\n"
        "error InvalidParameter (parameter: string)\n";

const char *varlink_interface_lookup(const char *name) {
        if (!name)
                return NULL;
        if (strcmp(name, VARLINK_INTERFACE_AVCWATCH) == 0)
                return varlink_interface_avcwatch;
        if (strcmp(name, VARLINK_INTERFACE_SERVICE) == 0)
                return varlink_interface_service;
        return NULL;
}
