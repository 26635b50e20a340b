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

#include "ns.h"
#include "streamerr.h"

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
 * the servers' stanza-too-large (for an oversized stanza); blames: the
 * condition is about the data we wrote. */
static const struct {
	const char *name;
	int blames;
} known[] = {{"bad-format", 1}, {"bad-namespace-prefix", 1}, {"conflict", 0},
    {"connection-timeout", 0}, {"host-gone", 0}, {"host-unknown", 0},
    {"improper-addressing", 1}, {"internal-server-error", 0},
    {"invalid-from", 1}, {"invalid-id", 1}, {"invalid-namespace", 1},
    {"invalid-xml", 1}, {"not-authorized", 0}, {"not-well-formed", 1},
    {"policy-violation", 1}, {"remote-connection-failed", 0}, {"reset", 0},
    {"resource-constraint", 0}, {"restricted-xml", 1}, {"see-other-host", 0},
    {"stanza-too-large", 1}, {"system-shutdown", 0}, {"undefined-condition", 0},
    {"unsupported-encoding", 1}, {"unsupported-feature", 1},
    {"unsupported-stanza-type", 1}, {"unsupported-version", 0},
    {"xml-not-well-formed", 1}};

#define N_KNOWN (sizeof(known) / sizeof(known[0]))

#define OPEN_TAG "<stream:error"
#define CLOSE_TAG "</stream:error>"

/* The known condition whose name is buf[0..len), or NULL. */
static const char *
known_condition(const char *name, size_t len)
{
	for (size_t i = 0; i < N_KNOWN; i++)
		if (strlen(known[i].name) == len &&
		    memcmp(known[i].name, name, len) == 0)
			return known[i].name;
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
	if (condition == NULL)
		return 0;
	for (size_t i = 0; i < N_KNOWN; i++)
		if (strcmp(condition, known[i].name) == 0)
			return known[i].blames;
	return 0;
}
