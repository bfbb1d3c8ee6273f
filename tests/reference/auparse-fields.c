/* SPDX-License-Identifier: MIT */
/* libauparse as record.c drove it before record-fields.c, kept as the oracle of the
 * differential test and fuzz target. */

#include <auparse.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auparse-fields.h"

#define CANONICAL_PREFIX_MAX 64
#define REFERENCE_BODY_MAX (512 * 1024) /* test bodies up to eight times RECORD_LINE_MAX */

void field_list_clear(FieldList *l) {
        for (size_t i = 0; i < l->n; i++) {
                free((char *) l->fields[i].name);
                free((char *) l->fields[i].value);
        }
        free(l->fields);
        *l = (FieldList){};
}

static int field_list_add(FieldList *l, const char *name, size_t name_len, const char *value,
                          size_t value_len) {
        RecordField *f;

        if (l->n == l->allocated) {
                size_t k = l->allocated ? 2 * l->allocated : 16;
                RecordField *a = realloc(l->fields, k * sizeof(*a));
                if (!a)
                        return -ENOMEM;
                l->fields = a;
                l->allocated = k;
        }
        f = &l->fields[l->n];
        *f = (RecordField){
                .name = strndup(name, name_len),
                .name_len = name_len,
                .value = value ? strndup(value, value_len) : NULL,
                .value_len = value_len,
        };
        if (!f->name || (value && !f->value)) {
                free((char *) f->name);
                free((char *) f->value);
                return -ENOMEM;
        }
        l->n++;
        return 0;
}

static bool is_key(const char *name, size_t n) {
        return n == 3 && memcmp(name, "key", 3) == 0;
}

int auparse_reference_fields(const char *body, size_t len, bool avc_grammar, FieldList *ret) {
        static auparse_state_t *au;
        static char *text;
        const char *prefix =
                avc_grammar ? "type=AVC msg=audit(1.000:1): " : "type=SYSCALL msg=audit(1.000:1): ";
        size_t plen = strlen(prefix), n;
        bool first = true;
        int r;

        *ret = (FieldList){};
        if (!au) {
                /* one state for the whole run, as record.c had one per parser */
                au = auparse_init(AUSOURCE_BUFFER, "type=EOE msg=audit(1.000:1): \n");
                text = malloc(CANONICAL_PREFIX_MAX + REFERENCE_BODY_MAX + 2);
                if (!au || !text)
                        return -ENOMEM;
        }
        if (len > REFERENCE_BODY_MAX || memchr(body, '\0', len) || memchr(body, '\n', len))
                return -EINVAL;
        memcpy(text, prefix, plen);
        memcpy(text + plen, body, len);
        n = plen + len;
        text[n++] = '\n';
        text[n] = '\0';
        if (auparse_new_buffer(au, text, n) < 0)
                return -ENOMEM;
        if (auparse_next_event(au) <= 0 || auparse_first_field(au) <= 0)
                return -EBADMSG;
        do {
                const char *name = auparse_get_field_name(au), *value;

                if (first) { /* our own type= */
                        first = false;
                        continue;
                }
                if (!name || is_key(name, strlen(name)))
                        continue;
                value = auparse_get_field_str(au);
                r = field_list_add(ret, name, strlen(name), value, value ? strlen(value) : 0);
                if (r < 0) {
                        field_list_clear(ret);
                        return r;
                }
        } while (auparse_next_field(au) > 0);
        return 0;
}

int record_fields_list(const char *body, size_t len, bool avc_grammar, FieldList *ret) {
        RecordFields f;
        RecordField field;
        int r;

        *ret = (FieldList){};
        record_fields_init(&f, body, len, avc_grammar);
        while ((r = record_fields_next(&f, &field)) > 0) {
                if (is_key(field.name, field.name_len))
                        continue;
                r = field_list_add(ret, field.name, field.name_len, field.value, field.value_len);
                if (r < 0)
                        break;
        }
        if (r < 0)
                field_list_clear(ret);
        return r;
}

bool field_list_equal(const FieldList *a, const FieldList *b) {
        if (a->n != b->n)
                return false;
        for (size_t i = 0; i < a->n; i++) {
                const RecordField *x = &a->fields[i], *y = &b->fields[i];

                if (x->name_len != y->name_len || memcmp(x->name, y->name, x->name_len) != 0)
                        return false;
                if (!x->value != !y->value || x->value_len != y->value_len ||
                    (x->value && memcmp(x->value, y->value, x->value_len) != 0))
                        return false;
        }
        return true;
}

void field_list_dump(const char *label, const FieldList *l) {
        fprintf(stderr, "%s: %zu fields\n", label, l->n);
        for (size_t i = 0; i < l->n; i++)
                fprintf(stderr, "  [%zu] %s = %s\n", i, l->fields[i].name,
                        l->fields[i].value ? l->fields[i].value : "(no value)");
}
