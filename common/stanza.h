/*
 * Validation and serialization of a stanza (libxml2, parsed with no
 * network, no DTD, no entity expansion), one checker for both programs:
 * the responder checks what is posted, the bridge checks again what a
 * frame would make it write.  The rules are the HTTP contract in
 * docs/API.md; every refusal carries the HTTP status and a one-line
 * reason.
 */
#ifndef XR_STANZA_H
#define XR_STANZA_H

#include <stddef.h>

#include "util.h"

struct stanza_limits {
	unsigned long max_bytes;
	unsigned long max_depth;
	unsigned long max_attrs; /* attributes + namespace declarations */
};

struct stanza {
	char kind[16]; /* "message", "presence" or "iq" */
	char *id;      /* as given, or generated */
	char *to;      /* as given; never NULL after a successful parse */
	char *from;    /* as given, or the bridge's domain */
	char *type;    /* as given, or NULL */
	char *xml;     /* the stanza as it is sent to the XMPP server */
	size_t xml_len;
	int wants_receipt; /* a message with <request xmlns='urn:xmpp:receipts'/> */
	int id_generated;
};

struct stanza_error {
	int status; /* 400, 403, 413, 422; 500 when out of memory */
	char text[XR_ERRLEN];
};

/* What a submit frame says its stanza is: what the bridge authorized. */
struct stanza_claim {
	const char *kind, *id, *to, *from;
	const char *type; /* NULL: the stanza has none */
};

/* Once per process, before the first stanza_parse. */
void stanza_global_init(void);

/*
 * Parses and checks body.  domain is the bridge's JID (conf "jid").  On 0,
 * st holds the normalized stanza (free it with stanza_free); on -1, e says
 * why and st is empty.
 */
int stanza_parse(const char *body, size_t len, const struct stanza_limits *lim,
    const char *domain, struct stanza *st, struct stanza_error *e);

/*
 * The bridge's check of a frame: stanza_parse, and then the stanza must
 * be exactly one element named claim->kind whose from, to, id and type
 * are claim's, byte for byte (claim->from already as jid_with_domain
 * spells it).  On 0, st->xml is what to write; on -1, e says why.
 */
int stanza_check_claim(const char *xml, size_t len,
    const struct stanza_limits *lim, const char *domain,
    const struct stanza_claim *claim, struct stanza *st,
    struct stanza_error *e);

void stanza_free(struct stanza *st);

/* Frees the calling thread's kept parser context (see stanza.c); call it
 * before a thread that parsed ends. */
void stanza_thread_done(void);

#endif
