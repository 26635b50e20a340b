/*
 * libstrophe 0.12.2 maps a stream error's condition to an enum of the
 * older names and anything else to XMPP_SE_UNDEFINED_CONDITION: RFC
 * 6120's not-well-formed (what Prosody 0.12 sends for an oversized
 * stanza) and stanza-too-large among them.  The name is what we log and
 * decide on, so it is read from the error element itself (se->stanza,
 * which libstrophe keeps), here only.
 */
#include <string.h>

#include "streamerr.h"

#define NS_STREAMS "urn:ietf:params:xml:ns:xmpp-streams"

const char *
streamerr_condition(const xmpp_stream_error_t *se)
{
	if (se == NULL || se->stanza == NULL)
		return "undefined-condition";
	for (xmpp_stanza_t *c = xmpp_stanza_get_children(se->stanza); c;
	     c = xmpp_stanza_get_next(c)) {
		const char *name = xmpp_stanza_get_name(c);
		const char *ns = xmpp_stanza_get_ns(c);

		if (xmpp_stanza_is_tag(c) && name && ns &&
		    strcmp(ns, NS_STREAMS) == 0 && strcmp(name, "text") != 0)
			return name;
	}
	return "undefined-condition";
}

int
streamerr_blames_sent(const char *condition)
{
	/* RFC 6120 4.9.3's conditions about the data we wrote, and
	 * stanza-too-large (the servers' own, for an oversized stanza). */
	static const char *const blaming[] = {"bad-format",
	    "bad-namespace-prefix", "improper-addressing", "invalid-from",
	    "invalid-id", "invalid-namespace", "invalid-xml", "not-well-formed",
	    "policy-violation", "restricted-xml", "stanza-too-large",
	    "unsupported-encoding", "unsupported-stanza-type",
	    "unsupported-feature", "xml-not-well-formed"};

	if (condition == NULL)
		return 0;
	for (size_t i = 0; i < sizeof(blaming) / sizeof(blaming[0]); i++)
		if (strcmp(condition, blaming[i]) == 0)
			return 1;
	return 0;
}
