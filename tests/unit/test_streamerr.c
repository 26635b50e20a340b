/*
 * streamerr.c: the condition of a stream error as the server named it,
 * and which conditions blame what the bridge wrote.
 */
#include <strophe.h>

#include "ns.h"
#include "streamerr.h"
#include "t.h"

static const char *
condition_of(xmpp_ctx_t *ctx, const char *xml, xmpp_stanza_t **keep)
{
	xmpp_stream_error_t se = {XMPP_SE_UNDEFINED_CONDITION, NULL, NULL};

	se.stanza = *keep = xmpp_stanza_new_from_string(ctx, xml);
	return streamerr_condition(&se);
}

static const char *
tail(const char *text)
{
	return streamerr_in_tail(text, strlen(text));
}

/* What the server sent after the last bytes libstrophe parsed. */
static void
test_tail(void)
{
	T_EQ_STR(
	    tail("</message><stream:error><not-well-formed xmlns='" NS_STREAMS
		 "'/></stream:error></stream:stream>"),
	    "not-well-formed", "a stream error after a stanza's end");
	T_EQ_STR(tail("<stream:error><text xmlns=\"" NS_STREAMS
		      "\">big</text><stanza-too-large xmlns=\"" NS_STREAMS
		      "\"/></stream:error>"),
	    "stanza-too-large", "after its text, double quotes");
	T_EQ_STR(
	    tail("ody>x</body></message><stream:error>"
		 "<system-shutdown xmlns='" NS_STREAMS "'/></stream:error>"),
	    "system-shutdown",
	    "after a cut stanza, a condition that blames "
	    "nothing");
	T_OK(tail("<stream:error><not-well-formed xmlns='" NS_STREAMS "'/>") ==
		NULL,
	    "a stream error cut off before its end is none");
	T_OK(tail("<stream:error><not-well-formed xmlns='other'/>"
		  "</stream:error>") == NULL,
	    "a condition of another namespace is none");
	T_OK(tail("<stream:error><made-up xmlns='" NS_STREAMS
		  "'/></stream:error>") == NULL,
	    "a name RFC 6120 does not know is none");
	T_OK(tail("<message><body>&lt;stream:error&gt;</body></message>") ==
		NULL,
	    "escaped text is no stream error");
	T_OK(tail("") == NULL && streamerr_in_tail(NULL, 0) == NULL,
	    "nothing read");
}

int
main(void)
{
	xmpp_ctx_t *ctx = xmpp_ctx_new(NULL, NULL);
	xmpp_stanza_t *st = NULL;
	const char *c;

	c = condition_of(ctx,
	    "<error><text xmlns='" NS_STREAMS "'>too big</text>"
	    "<stanza-too-large xmlns='" NS_STREAMS "'/></error>",
	    &st);
	T_OK(c != NULL && strcmp(c, "stanza-too-large") == 0,
	    "a condition libstrophe does not know is named, after <text/>");
	T_OK(streamerr_blames_sent(c), "stanza-too-large blames the stanza");
	xmpp_stanza_release(st);

	c = condition_of(ctx,
	    "<error><not-well-formed xmlns='" NS_STREAMS "'/></error>", &st);
	T_OK(strcmp(c, "not-well-formed") == 0 && streamerr_blames_sent(c),
	    "not-well-formed (Prosody's answer to an oversized stanza)");
	xmpp_stanza_release(st);

	c = condition_of(ctx,
	    "<error><system-shutdown xmlns='" NS_STREAMS "'/></error>", &st);
	T_OK(strcmp(c, "system-shutdown") == 0 && !streamerr_blames_sent(c),
	    "system-shutdown blames nothing we wrote");
	xmpp_stanza_release(st);

	c = condition_of(
	    ctx, "<error><bad-format xmlns='other'/></error>", &st);
	T_OK(strcmp(c, "undefined-condition") == 0 && !streamerr_blames_sent(c),
	    "an element of another namespace is no condition");
	xmpp_stanza_release(st);

	T_OK(strcmp(streamerr_condition(NULL), "undefined-condition") == 0,
	    "no stream error at all");
	for (const char *const *b = (const char *const[]){"invalid-from",
		 "policy-violation", "restricted-xml", "improper-addressing",
		 "invalid-namespace", "invalid-xml", "unsupported-stanza-type",
		 "bad-format", NULL};
	     *b; b++)
		T_OK(streamerr_blames_sent(*b), *b);
	for (const char *const *b = (const char *const[]){"connection-timeout",
		 "reset", "conflict", "host-unknown", "not-authorized",
		 "undefined-condition", NULL};
	     *b; b++)
		T_OK(!streamerr_blames_sent(*b), *b);
	test_tail();
	xmpp_ctx_free(ctx);
	return t_done();
}
