/*
 * expat's reparse deferral (bridge/deferral.h): the longest-tag scan that
 * sizes the whitespace after what we send, and, on the expat this machine
 * has, that a long start tag fed in pieces reaches its handler as soon as
 * it is whole.  Without our XML_Parse wrapper, an expat with deferral
 * (Debian 12's 2.5.0-1+deb12u2 and later) holds it back.
 */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "deferral.h"
#include "t.h"

typedef struct XML_ParserStruct *XML_Parser;
int XML_Parse(XML_Parser parser, const char *s, int len, int is_final);

static int started;

static void
on_start(void *ud, const char *name, const char **attrs)
{
	(void)ud;
	(void)attrs;
	if (strcmp(name, "big") == 0)
		started = 1;
}

static void
on_end(void *ud, const char *name)
{
	(void)ud;
	(void)name;
}

static void
test_longest_tag(void)
{
	static const char quoted[] = "<a x='>>>>>>>>>>'/><b/>";
	static const char cut[] = "<m><body>hi</body><iq type='get";

	T_EQ_INT(deferral_longest_tag("", 0), 0, "nothing: 0");
	T_EQ_INT(deferral_longest_tag("text only", 9), 0, "text: 0");
	T_EQ_INT(deferral_longest_tag("<a/>", 4), 4, "one tag");
	T_EQ_INT(deferral_longest_tag(quoted, sizeof(quoted) - 1), 19,
	    "a '>' inside quotes does not end the tag");
	T_EQ_INT(deferral_longest_tag("<a y=\"'>\"/>", 11), 11,
	    "the other quote inside quotes is text");
	T_EQ_INT(deferral_longest_tag(cut, sizeof(cut) - 1), 13,
	    "a tag cut off at the end counts to the end");
}

/* A 20 KB start tag in 4 KB reads, then a short stanza, as a quiet
 * stream brings it: the tag must be parsed by the last of its pieces. */
static void
test_expat_keeps_up(void)
{
	XML_Parser (*create)(const char *);
	void (*set_elem)(XML_Parser,
	    void (*)(void *, const char *, const char **),
	    void (*)(void *, const char *));
	void (*destroy)(XML_Parser);
	size_t n = 20000, off = 0;
	char *doc = malloc(n + 64);
	XML_Parser p;
	int len;

	*(void **)&create = dlsym(RTLD_DEFAULT, "XML_ParserCreate");
	*(void **)&set_elem = dlsym(RTLD_DEFAULT, "XML_SetElementHandler");
	*(void **)&destroy = dlsym(RTLD_DEFAULT, "XML_ParserFree");
	T_OK(create && set_elem && destroy && doc, "expat is linked in");
	if (!create || !set_elem || !destroy || !doc) {
		free(doc);
		return;
	}
	len = snprintf(doc, n + 64, "<s><big a='");
	memset(doc + len, 'A', n);
	len += (int)n;
	len += snprintf(doc + len, 64, "'/>");
	p = create(NULL);
	set_elem(p, on_start, on_end);
	while (off < (size_t)len) {
		int chunk = len - (int)off < 4096 ? len - (int)off : 4096;

		XML_Parse(p, doc + off, chunk, 0);
		off += (size_t)chunk;
	}
	T_OK(started,
	    "a 20 KB start tag fed in 4 KB pieces is parsed once "
	    "whole (no reparse deferral)");
	destroy(p);
	free(doc);
}

int
main(void)
{
	test_longest_tag();
	test_expat_keeps_up();
	return t_done();
}
