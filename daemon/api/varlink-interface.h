/* SPDX-License-Identifier: MIT */
#pragma once

/* The Varlink interface descriptions this daemon serves through
 * org.varlink.service.GetInterfaceDescription. */

#define VARLINK_INTERFACE_AVCWATCH "io.avcwatch"
#define VARLINK_INTERFACE_SERVICE "org.varlink.service"

/* The text of io.avcwatch.varlink, compiled in (the .varlink file is the source of truth). */
extern const char varlink_interface_avcwatch[];
/* The standard org.varlink.service description (https://varlink.org/Service). */
extern const char varlink_interface_service[];

/* The description of the named interface, NULL when this daemon does not implement it. */
const char *varlink_interface_lookup(const char *name);
