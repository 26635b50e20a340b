/*
 * See deferral.h.  The receiving half wraps expat's XML_Parse, which
 * libstrophe 0.12.2 calls for every read: the definition in our
 * executable comes first in symbol lookup, so libstrophe's calls land
 * here.  Turning deferral off again at each call also covers
 * XML_ParserReset, which turns it back on.  The quadratic parsing that
 * deferral prevents is bounded here by the server's own stanza size
 * limit.  With an expat older than the feature the wrapper only passes
 * the call on.
 */
/* RTLD_NEXT */
#define _GNU_SOURCE /* NOLINT(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp) */
#include <dlfcn.h>
#include <stdlib.h>

#include "deferral.h"

/* expat's ABI (its header is not a build dependency of ours). */
typedef struct XML_ParserStruct *XML_Parser;
typedef unsigned char XML_Bool;
int XML_Parse(XML_Parser parser, const char *s, int len, int is_final);

typedef int (*parse_fn)(XML_Parser, const char *, int, int);
typedef XML_Bool (*set_deferral_fn)(XML_Parser, XML_Bool);

int
XML_Parse(XML_Parser parser, const char *s, int len, int is_final)
{
	static parse_fn real_parse;
	static set_deferral_fn set_deferral;
	static int looked;

	/* Only the loop's thread parses (libstrophe is not thread-safe). */
	if (!looked) {
		*(void **)&real_parse = dlsym(RTLD_NEXT, "XML_Parse");
		*(void **)&set_deferral =
		    dlsym(RTLD_NEXT, "XML_SetReparseDeferralEnabled");
		looked = 1;
	}
	if (real_parse == NULL)
		abort(); /* libstrophe is linked against expat: never */
	if (set_deferral != NULL)
		set_deferral(parser, 0);
	return real_parse(parser, s, len, is_final);
}

size_t
deferral_longest_tag(const char *xml, size_t len)
{
	size_t longest = 0, start = 0;
	int in_tag = 0;
	char quote = 0;

	for (size_t i = 0; i < len; i++) {
		char c = xml[i];

		if (!in_tag) {
			if (c == '<') {
				in_tag = 1;
				start = i;
			}
		} else if (quote) {
			if (c == quote)
				quote = 0;
		} else if (c == '\'' || c == '"') {
			quote = c;
		} else if (c == '>') {
			in_tag = 0;
			if (i + 1 - start > longest)
				longest = i + 1 - start;
		}
	}
	if (in_tag && len - start > longest)
		longest = len - start;
	return longest;
}
