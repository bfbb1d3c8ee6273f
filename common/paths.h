/* SPDX-License-Identifier: MIT */
#pragma once

/* The default places of the contract (DESIGN "Contracts"), known to both programs: avcctl finds
 * the daemon's socket where the daemon puts it unless told otherwise. */

#define AVCWATCH_DEFAULT_SOCKET "/run/avcwatch/avcwatch.sock"
