/*
 * What the unit tests of common/stanza.c (test_stanza, test_stanza_root,
 * test_stanza_write) share: the default limits, and helpers that turn a
 * parse into one string to compare ("STATUS text" or "accepted: XML").
 * Every refusal must leave the struct empty; each test checks
 * dirty_after_fail at its end.
 */
#ifndef XR_STANZA_T_H
#define XR_STANZA_T_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stanza.h"
#include "t.h"

#define DOMAIN "rest.example"

static const struct stanza_limits deflim = {192 * 1024, 32, 64};

/* Set when a refusal leaves anything in st (it must come back empty). */
static int dirty_after_fail;

/* "STATUS text" on refusal, or "accepted: XML"; caller frees. */
static inline char *
verdict(const char *body, size_t len, const struct stanza_limits *lim)
{
	struct stanza st;
	struct stanza_error e;
	char *out;
	size_t n;

	if (stanza_parse(body, len, lim, DOMAIN, &st, &e) == 0) {
		n = st.xml_len + 16;
		if ((out = malloc(n)) != NULL)
			snprintf(out, n, "accepted: %s", st.xml);
		stanza_free(&st);
		return out;
	}
	if (st.xml || st.id || st.to || st.from || st.type || st.kind[0] ||
	    st.xml_len || st.wants_receipt || st.id_generated)
		dirty_after_fail = 1;
	n = strlen(e.text) + 16;
	if ((out = malloc(n)) != NULL)
		snprintf(out, n, "%d %s", e.status, e.text);
	return out;
}

static inline void
expect(const char *body, const char *want, const char *what)
{
	char *got = verdict(body, strlen(body), &deflim);

	T_EQ_STR(got, want, what);
	free(got);
}

/* For texts that quote libxml2: the part that is ours, plus a needle. */
static inline void
expect_has(const char *body, const char *needle, const char *what)
{
	char *got = verdict(body, strlen(body), &deflim);

	T_HAS(got, needle, what);
	free(got);
}

static inline void
accept(const char *body, const char *xml, const char *what)
{
	char want[8192];

	snprintf(want, sizeof(want), "accepted: %s", xml);
	expect(body, want, what);
}

/* Parses body with the default limits; the caller frees st. */
static inline int
parse(const char *body, struct stanza *st, struct stanza_error *e)
{
	return stanza_parse(body, strlen(body), &deflim, DOMAIN, st, e);
}

#endif
