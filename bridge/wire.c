/*
 * Serialization repairs.  Everything works on copies: libstrophe still
 * reads a stanza it is dispatching after our handler returns, so
 * changing it in place once left it a freed pointer (found by valgrind).
 */
#include <stdlib.h>
#include <string.h>

#include "wire.h"

/* Deep enough for any stanza we pass on; deeper children keep their ns. */
#define WALK_DEPTH 64

void
wire_restore_lang(xmpp_stanza_t *st)
{
	const char *lang = xmpp_stanza_get_attribute(st, "lang");
	char *copy;

	if (lang == NULL || (copy = strdup(lang)) == NULL)
		return;
	xmpp_stanza_del_attribute(st, "lang");
	xmpp_stanza_set_attribute(st, "xml:lang", copy);
	free(copy);
}

/*
 * libstrophe gives the stanza and each child that inherited the stream's
 * default namespace an explicit jabber:component:accept, which would be
 * serialized as such.  Iterative, with an explicit stack: the stanza came
 * from the server, but its depth is not ours to trust.
 */
static void
client_namespace(xmpp_stanza_t *top)
{
	xmpp_stanza_t *stack[WALK_DEPTH];
	int depth = 0;

	xmpp_stanza_set_ns(top, NS_CLIENT);
	stack[depth++] = xmpp_stanza_get_children(top);
	while (depth > 0) {
		xmpp_stanza_t *c = stack[depth - 1];
		const char *ns;

		if (c == NULL) {
			depth--;
			continue;
		}
		stack[depth - 1] = xmpp_stanza_get_next(c);
		if (!xmpp_stanza_is_tag(c))
			continue;
		ns = xmpp_stanza_get_ns(c);
		if (ns != NULL && strcmp(ns, NS_COMPONENT) == 0)
			xmpp_stanza_set_ns(c, NS_CLIENT);
		if (depth < WALK_DEPTH)
			stack[depth++] = xmpp_stanza_get_children(c);
	}
}

char *
wire_text(xmpp_stanza_t *st, size_t *len)
{
	xmpp_stanza_t *copy = xmpp_stanza_copy(st);
	xmpp_ctx_t *ctx = xmpp_stanza_get_context(st);
	char *text = NULL, *out = NULL;
	size_t n = 0;

	if (copy == NULL)
		return NULL;
	wire_restore_lang(copy);
	client_namespace(copy);
	if (xmpp_stanza_to_text(copy, &text, &n) == XMPP_EOK &&
	    (out = malloc(n + 1)) != NULL) {
		memcpy(out, text, n);
		out[n] = '\0';
		*len = n;
	}
	xmpp_free(ctx, text);
	xmpp_stanza_release(copy);
	return out;
}
