/*
 * The answer a stanza from the server gives to the request it matches:
 * an iq result or a receipt (REPLY), or an error stanza (ERROR, with its
 * type, condition and text, bounded: a peer chooses them, and they reach
 * the responder; common/xmpp_error.h).
 */
#ifndef XR_STANZA_ANSWER_H
#define XR_STANZA_ANSWER_H

#include <strophe.h>

#include "answer.h"

struct stanza_answer {
	struct answer a; /* points into the members below */
	char *stanza;    /* the stanza's text as the world sees it */
	char *err_text;  /* libstrophe-allocated, cut to XR_ERROR_TEXT_MAX */
	xmpp_ctx_t *ctx;
};

/* Fills sa from st; 0, or -1 when out of memory.  Free sa either way. */
int stanza_answer_build(
    xmpp_stanza_t *st, int is_error, struct stanza_answer *sa);
void stanza_answer_free(struct stanza_answer *sa);

/* The id a receipt acknowledges: <received id='…'/>, else its own id;
 * NULL if st is no receipt. */
const char *receipt_id(xmpp_stanza_t *st);

#endif
