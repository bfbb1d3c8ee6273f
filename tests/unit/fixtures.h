/* SPDX-License-Identifier: MIT */
#pragma once

/* Fixtures shared by the C tests (test.h keeps the assertions): one way to make and remove a
 * temp directory, one Denial builder, and the small string helpers every test wanted. A fixture
 * never returns an error: whatever fails is a failed check (exit 1), as in test.h. */

#include <stdint.h>

#include "container.h"
#include "denial.h"
#include "macro.h"
#include "store.h"
#include "user-avc.h"

/* ---- strings ---- */

/* strdup() that keeps NULL as NULL. */
char *xstrdup(const char *s);
/* asprintf() into a new string. */
char *xasprintf(const char *fmt, ...) _printf_(1, 2);
/* Replaces an owned string field (the old value is freed; NULL clears it). */
void set_string(char **field, const char *value);

/* ---- temp directories ---- */

/* Makes /tmp/avcwatch-test-NAME-XXXXXX (mode 0700); the path is the caller's to free (with
 * fixture_tmpdir_remove()). */
char *fixture_tmpdir(const char *name);
/* The file NAME of tests/unit/data/SUBDIR ($AVCWATCH_TEST_DATA, set by ctest; SKIP without it),
 * read whole and NUL-terminated; its length in *ret_len. */
char *fixture_data(const char *subdir, const char *name, size_t *ret_len);
/* DIR/NAME, malloc'd. */
char *fixture_path(const char *dir, const char *name);
/* Removes PATH and everything below it (on its file system). */
void fixture_rm_rf(const char *path);
/* Removes DIR and everything below it, then frees DIR. Called at the end of a test that passed:
 * one that fails exits on the spot and leaves its directory for a post-mortem. */
void fixture_tmpdir_remove(char *dir);

/* ---- denials ---- */

/* The contract's example (DESIGN "Contracts"), unattributed, at TIME_MS with SERIAL: an AVC
 * "denied { write }" by pid 21476 "bash" (/usr/bin/bash) on "root", container_t:c170,c393 ->
 * admin_home_t dir, permissive=0, raw "type=AVC msg=audit(T:SERIAL): avc:  denied  { write }".
 * Everything else unknown (DENIAL_NULL). Tests change what they need with set_string(). */
#define FIXTURE_TIME_MS INT64_C(1713603292240)
#define FIXTURE_SERIAL UINT64_C(1088)
#define FIXTURE_SCONTEXT "system_u:system_r:container_t:s0:c170,c393"
#define FIXTURE_TCONTEXT "system_u:object_r:admin_home_t:s0"
Denial fixture_denial(int64_t time_ms, uint64_t serial);
/* The raw text fixture_denial() writes, for a denial of PERMISSIONS at TIME_MS, SERIAL. */
char *fixture_raw(int64_t time_ms, uint64_t serial, const char *permissions);
/* Fills *c with copies of the strings (NULL stays NULL). */
void fixture_container(ContainerRef *c, const char *id, const char *name, const char *image,
                       const char *engine, const char *pod);

/* Values that a set of denials is varied over (test-store's filters, test-store-aggregates'
 * oracle): commands, source and target types, classes, permission sets, categories. */
extern const char *const fixture_comms[4];
extern const char *const fixture_types[3];
extern const char *const fixture_ttypes[4];
extern const char *const fixture_classes[3];
extern const char *const fixture_perm_sets[4];
extern const char *const fixture_mcss[3];

/* The pieces hostile strings are built from (test-varlink's escaping, test-client-passthrough's
 * decoding), all valid UTF-8: quotes, backslashes, controls, DEL, C1, U+2028, bidi controls,
 * other UTF-8 of 2 to 4 bytes, a slash and an escape sequence's text. */
extern const char *const fixture_hostile_pieces[16];
/* Bytes that are not UTF-8: a stray byte, a lone continuation byte, a truncated sequence, an
 * encoded surrogate. */
extern const char *const fixture_invalid_utf8_pieces[4];

/* A running docker container ID, created at CREATED_MS, whose every other string (name, image,
 * pod, compose names, label) is TEXT: the largest row or reply a container can make. The strings
 * are borrowed. */
ContainerInfo fixture_container_info(const char *id, const char *text, int64_t created_ms);

/* Stores the N denials of ALL as new rows (store_add() says 1 for each), committing every
 * BATCH of them and at the end. */
void fixture_store_all(Store *s, Denial *all, size_t n, size_t batch);

/* The same example as USER_AVC text input (user_avc_format()); strings are static. */
UserAvcSpec fixture_user_avc(void);

/* The contract's example as JSON text, up to and including "mcs" (what follows differs by
 * where the object comes from). */
#define FIXTURE_JSON_HEAD                                                                          \
        "{\"time\":\"2024-04-20T08:54:52.240Z\",\"serial\":1088,\"record_type\":\"AVC\","          \
        "\"result\":\"denied\",\"permissions\":[\"write\"],\"pid\":21476,\"comm\":\"bash\","       \
        "\"exe\":\"/usr/bin/bash\",\"path\":null,\"name\":\"root\","                               \
        "\"scontext\":\"system_u:system_r:container_t:s0:c170,c393\","                             \
        "\"tcontext\":\"system_u:object_r:admin_home_t:s0\",\"tclass\":\"dir\","                   \
        "\"permissive\":false,\"source_type\":\"container_t\",\"target_type\":\"admin_home_t\","   \
        "\"mcs\":\"c170,c393\","

/* A binary policy for the triage tests: AVCWATCH_TRIAGE_POLICY, else the host's refpolicy file
 * (selinux-policy-default), else NULL. */
const char *fixture_triage_policy(void);
