/*
 * libstrophe 0.12.2 maps a stream error's condition to an enum of the
 * older names and anything else to XMPP_SE_UNDEFINED_CONDITION: RFC
 * 6120's not-well-formed (what Prosody 0.12 sends for an oversized
 * stanza) and stanza-too-large among them.  The name is what we log and
 * decide on, so it is read from the error element itself (se->stanza,
 * which libstrophe keeps), here only.
 */
#define _GNU_SOURCE /* memmem; NOLINT(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp) */
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

/* RFC 6120 4.9.3, with RFC 3920's invalid-id and xml-not-well-formed and
 * the servers' stanza-too-large. */
static const char *const known[] = {"bad-format", "bad-namespace-prefix",
    "conflict", "connection-timeout", "host-gone", "host-unknown",
    "improper-addressing", "internal-server-error", "invalid-from",
    "invalid-id", "invalid-namespace", "invalid-xml", "not-authorized",
    "not-well-formed", "policy-violation", "remote-connection-failed", "reset",
    "resource-constraint", "restricted-xml", "see-other-host",
    "stanza-too-large", "system-shutdown", "undefined-condition",
    "unsupported-encoding", "unsupported-feature", "unsupported-stanza-type",
    "unsupported-version", "xml-not-well-formed"};

#define OPEN_TAG "<stream:error"
#define CLOSE_TAG "</stream:error>"

/* The known condition whose name is buf[0..len), or NULL. */
static const char *
known_condition(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strlen(known[i]) == len && memcmp(known[i], name, len) == 0)
			return known[i];
	return NULL;
}

const char *
streamerr_in_tail(const char *buf, size_t len)
{
	const char *end, *open = NULL, *close, *p;

	if (buf == NULL)
		return NULL;
	end = buf + len;
	for (p = buf; (p = memmem(p, (size_t)(end - p), OPEN_TAG,
			   sizeof(OPEN_TAG) - 1)) != NULL;
	     p++)
		if (p + sizeof(OPEN_TAG) - 1 < end &&
		    strchr("> \t\r\n", p[sizeof(OPEN_TAG) - 1]) != NULL)
			open = p;
	if (open == NULL ||
	    (close = memmem(open, (size_t)(end - open), CLOSE_TAG,
		 sizeof(CLOSE_TAG) - 1)) == NULL)
		return NULL;
	/* Each child's start tag: its name, and the streams namespace
	 * before the tag ends. */
	for (p = open + sizeof(OPEN_TAG) - 1;
	     (p = memchr(p, '<', (size_t)(close - p))) != NULL; p++) {
		const char *name = p + 1, *n = name, *gt;
		const char *cond;

		while (n < close && ((*n >= 'a' && *n <= 'z') || *n == '-'))
			n++;
		if ((cond = known_condition(name, (size_t)(n - name))) ==
			NULL ||
		    (gt = memchr(n, '>', (size_t)(close - n))) == NULL)
			continue;
		if (memmem(n, (size_t)(gt - n), NS_STREAMS,
			sizeof(NS_STREAMS) - 1) != NULL)
			return cond;
	}
	return NULL;
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
