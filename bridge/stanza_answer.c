#include <stdlib.h>
#include <string.h>

#include "outbuf.h"
#include "stanza_answer.h"
#include "wire.h"
#include "xmpp_error.h"

/* Type, condition and text of an error stanza's <error/>. */
static void
error_details(xmpp_stanza_t *st, struct stanza_answer *sa)
{
	xmpp_stanza_t *e = xmpp_stanza_get_child_by_name(st, "error");
	const char *type = NULL, *condition = NULL;

	if (e != NULL)
		type = xmpp_stanza_get_type(e);
	for (xmpp_stanza_t *c = e ? xmpp_stanza_get_children(e) : NULL; c;
	     c = xmpp_stanza_get_next(c)) {
		const char *name = xmpp_stanza_get_name(c);
		const char *ns = xmpp_stanza_get_ns(c);

		if (!xmpp_stanza_is_tag(c) || !name || !ns ||
		    strcmp(ns, NS_STANZAS) != 0)
			continue;
		if (strcmp(name, "text") == 0) {
			if (sa->err_text == NULL)
				sa->err_text = xmpp_stanza_get_text(c);
		} else if (condition == NULL) {
			condition = name;
		}
	}
	sa->a.errtype = xr_error_type(type);
	sa->a.condition = xr_error_condition(condition);
	if (sa->err_text != NULL)
		sa->err_text[ob_utf8_cut(sa->err_text, XR_ERROR_TEXT_MAX)] =
		    '\0';
	sa->a.text = sa->err_text;
}

int
stanza_answer_build(xmpp_stanza_t *st, int is_error, struct stanza_answer *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->ctx = xmpp_stanza_get_context(st);
	sa->a.outcome = is_error ? OUTCOME_ERROR : OUTCOME_REPLY;
	if ((sa->stanza = wire_text(st, &sa->a.stanza_len)) == NULL)
		return -1;
	sa->a.stanza = sa->stanza;
	if (is_error)
		error_details(st, sa);
	return 0;
}

void
stanza_answer_free(struct stanza_answer *sa)
{
	free(sa->stanza);
	if (sa->err_text != NULL)
		xmpp_free(sa->ctx, sa->err_text);
	memset(sa, 0, sizeof(*sa));
}

const char *
receipt_id(xmpp_stanza_t *st)
{
	xmpp_stanza_t *r =
	    xmpp_stanza_get_child_by_name_and_ns(st, "received", NS_RECEIPTS);
	const char *id;

	if (r == NULL)
		return NULL;
	id = xmpp_stanza_get_id(r);
	return id && *id ? id : xmpp_stanza_get_id(st);
}
