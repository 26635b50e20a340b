/*
 * The frame's stanza against the frame's fields, with the same limits
 * and checker as the responder: a stanza the responder made passes (its
 * serializer is a fixed point, which fuzz_stanza checks), and what is
 * written is the checker's own serialization of a tree it walked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "claim.h"
#include "jid.h"

int
claim_check(const struct conf *c, const struct frame *f, struct stanza *st,
    struct stanza_error *e)
{
	struct stanza_limits lim = {
	    c->max_stanza_bytes, c->max_stanza_depth, c->max_stanza_attributes};
	struct stanza_claim cl = {frame_get(f, FIELD_KIND),
	    frame_get(f, FIELD_ID), frame_get(f, FIELD_TO), NULL,
	    frame_get(f, FIELD_TYPE)};
	const char *from = frame_get(f, FIELD_FROM);
	char *norm;
	int rc;

	memset(st, 0, sizeof(*st));
	memset(e, 0, sizeof(*e));
	if (from == NULL || !jid_is_under(from, c->jid)) {
		e->status = 403;
		snprintf(e->text, sizeof(e->text),
		    "the frame's FROM must be %s or a JID under it", c->jid);
		return -1;
	}
	if ((norm = jid_with_domain(from, c->jid)) == NULL) {
		e->status = 500;
		snprintf(e->text, sizeof(e->text), "out of memory");
		return -1;
	}
	cl.from = norm;
	rc = stanza_check_claim(frame_get(f, FIELD_STANZA),
	    f->flen[FIELD_STANZA], &lim, c->jid, &cl, st, e);
	free(norm);
	return rc;
}
