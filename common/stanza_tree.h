/*
 * Private to common/stanza*.c: how the parser and checks (stanza.c), the
 * stanza-level rules (stanza_root.c) and the writer (stanza_write.c)
 * share the libxml2 tree of one stanza.  Callers use stanza.h.
 */
#ifndef XR_STANZA_TREE_H
#define XR_STANZA_TREE_H

#include <stddef.h>

#include <libxml/tree.h>

#include "stanza.h"

/* Fills e; the text is cut to one line of valid UTF-8 (stanza.c). */
void stanza_fail(struct stanza_error *e, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* e says "out of memory" (500); returns -1. */
int stanza_no_memory(struct stanza_error *e);

/* n's name as written, with its prefix, cut to size. */
void stanza_qname(const xmlNode *n, char *buf, size_t size);

/* An unprefixed (ns == NULL) or namespaced attribute of n, or NULL. */
const xmlAttr *stanza_find_attr(
    const xmlNode *n, const char *name, const char *ns);

/*
 * The rules on the root element (stanza_root.c): fills st except xml.
 * On -1, e says why; st may hold parts (stanza_free it).
 */
int stanza_check_root(const xmlNode *root, const char *domain,
    struct stanza *st, struct stanza_error *e);

/*
 * Writes root as st->xml (stanza_write.c), with st's from, to, id and
 * type.  Returns 0, or -1 out of memory.
 */
int stanza_write(const xmlNode *root, struct stanza *st);

#endif
