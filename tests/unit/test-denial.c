/* SPDX-License-Identifier: MIT */
/* Denial ownership: the block of strings (denial_copy(), denial_set_string(),
 * denial_move_strings(), denial_done()). Run under ASan, a string freed twice, freed from inside
 * the block or left behind fails here. */

#include <errno.h>

#include "denial.h"
#include "fixtures.h"
#include "tests/unit/test.h"

static bool in_block(const Denial *d) {
        const char *strings[] = {d->node,     d->result,      d->permissions, d->comm,
                                 d->exe,      d->path,        d->name,        d->scontext,
                                 d->tcontext, d->tclass,      d->source_type, d->target_type,
                                 d->mcs,      d->target_mcs,  d->cwd,         d->proctitle,
                                 d->raw,      d->sender_subj, d->booleans};
        for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++)
                if (strings[i] && !denial_string_in_block(d, strings[i]))
                        return false;
        return true;
}

/* A copy holds every string in one block of its own, equal to the original's, and nothing of
 * the original: the original can go first. */
static void test_copy_is_one_block(void) {
        Denial d = fixture_denial(FIXTURE_TIME_MS, FIXTURE_SERIAL), c;

        set_string(&d.cwd, "/srv");
        set_string(&d.booleans, "container_manage_cgroup");
        d.has_container = true;
        fixture_container(&d.container, "abc", "web", "img", "docker", NULL);
        CHECK_RC(denial_copy(&d, &c), 0);
        CHECK(c.strings && !c.strings_lent);
        CHECK(in_block(&c));
        CHECK(!denial_string_in_block(&c, c.container.id)); /* containers: their own */
        CHECK(c.comm != d.comm);
        denial_done(&d);
        CHECK_STREQ(c.cwd, "/srv");
        CHECK_STREQ(c.booleans, "container_manage_cgroup");
        CHECK_STREQ(c.scontext, "system_u:system_r:container_t:s0:c170,c393");
        CHECK_STREQ(c.container.name, "web");
        CHECK(c.raw && strstr(c.raw, "type=AVC"));

        /* A copy of a copy: one block again. */
        Denial cc;
        CHECK_RC(denial_copy(&c, &cc), 0);
        CHECK(in_block(&cc) && cc.strings != c.strings);
        denial_done(&c);
        CHECK_STREQ(cc.cwd, "/srv");
        denial_done(&cc);
}

/* Replacing a string of the block leaves the block alone; replacing one of its own frees it
 * (ASan: no leak, no free of a pointer into the block). */
static void test_set_string(void) {
        Denial d = fixture_denial(FIXTURE_TIME_MS, FIXTURE_SERIAL), c;

        CHECK_RC(denial_copy(&d, &c), 0);
        denial_done(&d);
        CHECK_RC(denial_set_string(&c, &c.result, "selftest"), 0);
        CHECK(!denial_string_in_block(&c, c.result));
        CHECK_STREQ(c.result, "selftest");
        CHECK_RC(denial_set_string(&c, &c.result, "again"), 0); /* its own: freed */
        CHECK_STREQ(c.result, "again");
        CHECK_RC(denial_set_string(&c, &c.raw, NULL), 0);
        CHECK(c.raw == NULL);
        CHECK_RC(denial_set_string(&c, &c.booleans, NULL), 0);
        CHECK_STREQ(c.comm, "bash"); /* the rest of the block is untouched */
        denial_done(&c);

        /* Without a block, every string is its own. */
        d = fixture_denial(FIXTURE_TIME_MS, FIXTURE_SERIAL);
        CHECK(d.strings == NULL);
        CHECK_RC(denial_set_string(&d, &d.comm, "sh"), 0);
        CHECK_STREQ(d.comm, "sh");
        denial_done(&d);
}

/* The block moved to memory of the caller's: every string follows, the old block is freed when
 * it was the denial's, and the new one is lent (denial_done() leaves it). */
static void test_move_strings(void) {
        Denial d = fixture_denial(FIXTURE_TIME_MS, FIXTURE_SERIAL), c;
        char *mine;

        CHECK_RC(denial_copy(&d, &c), 0);
        CHECK_RC(denial_set_string(&c, &c.proctitle, "apart"), 0);
        mine = malloc(c.strings_size);
        CHECK(mine);
        denial_move_strings(&c, mine); /* frees the copy's own block */
        CHECK(c.strings == mine && c.strings_lent);
        CHECK(in_block(&c) == false); /* proctitle is its own */
        CHECK(denial_string_in_block(&c, c.comm));
        CHECK_STREQ(c.comm, d.comm);
        CHECK_STREQ(c.scontext, d.scontext);
        CHECK_STREQ(c.raw, d.raw);
        CHECK_STREQ(c.proctitle, "apart");
        denial_done(&c); /* frees proctitle, not the block */
        free(mine);

        /* A lent block moved again: nothing of the first lender is freed. */
        char first[512], second[512];
        Denial e = fixture_denial(FIXTURE_TIME_MS, FIXTURE_SERIAL), f;
        CHECK_RC(denial_copy(&e, &f), 0);
        CHECK(f.strings_size <= sizeof(first));
        denial_move_strings(&f, first);
        denial_move_strings(&f, second);
        CHECK(f.strings == second && f.strings_lent);
        memset(first, 'X', sizeof(first)); /* the first lender takes its memory back */
        CHECK_STREQ(f.comm, e.comm);
        CHECK_STREQ(f.tcontext, e.tcontext);
        denial_done(&f);
        denial_done(&e);
        denial_done(&d);

        /* No block: nothing to move. */
        Denial g = fixture_denial(FIXTURE_TIME_MS, FIXTURE_SERIAL);
        denial_move_strings(&g, first);
        CHECK(g.strings == NULL);
        denial_done(&g);
}

int main(void) {
        test_copy_is_one_block();
        test_set_string();
        test_move_strings();
        return 0;
}
