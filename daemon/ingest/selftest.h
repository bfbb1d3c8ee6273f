/* SPDX-License-Identifier: MIT */
#pragma once

/* Which denials are `avcctl selftest`'s own, the ones query, tail and top leave out unless asked
 * (filter include_selftest). See selftest.c for why the daemon can vouch for them. */

#include <stdbool.h>

#include "denial.h"
#include "domain-filter.h"

/* After attribution: gives d the result DENIAL_RESULT_SELFTEST (filter.h) when it is a self-test
 * denial the daemon vouches for. sender_checked: the attributor looked the USER_AVC's sender pid
 * up (live input). Returns 1 when marked, 0 when not, -ENOMEM. */
int selftest_mark(Denial *d, const DomainFilter *domains, bool sender_checked);
