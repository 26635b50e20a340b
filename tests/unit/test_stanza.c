/*
 * The HTTP contract for a posted stanza, its refusals: every one with its
 * exact status and text, and the attacks a web-facing XML parser meets
 * (XXE, entity expansion, deep nesting, attribute floods).  What the
 * root and its addresses must be is test_stanza_root; the serializer is
 * test_stanza_write.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "stanza.h"
#include "util.h"
#include "t.h"
#include "stanza_t.h"

static void
test_size(void)
{
	struct stanza_limits lim = deflim;
	const char *body = "<message to='a@b'/>";
	char *got;

	lim.max_bytes = 10;
	got = verdict(body, strlen(body), &lim);
	T_EQ_STR(got, "413 stanza is 19 bytes; limit is 10 (max_stanza_bytes)",
	    "over max_stanza_bytes is 413");
	free(got);
	/* Checked before parsing: garbage of the wrong size is still 413. */
	got = verdict("<<<<<<<<<<<<", 12, &lim);
	T_HAS(got, "413 stanza is 12 bytes", "size checked before parsing");
	free(got);
	body = "<message from='rest.example' to='a@b' id='1'/>";
	lim.max_bytes = strlen(body);
	got = verdict(body, strlen(body), &lim);
	T_HAS(got, "accepted: ", "exactly max_stanza_bytes is fine");
	free(got);
}

static void
test_empty(void)
{
	struct stanza st;
	struct stanza_error e;

	expect("",
	    "400 empty body: expected one message, presence or iq "
	    "element",
	    "empty body");
	expect(" \r\n\t",
	    "400 empty body: expected one message, presence "
	    "or iq element",
	    "whitespace-only body");
	T_EQ_INT(
	    stanza_parse(NULL, 0, &deflim, DOMAIN, &st, &e), -1, "NULL body");
}

static void
test_dtd_attacks(void)
{
	const char *dt = "400 DOCTYPE is not allowed in XMPP (RFC 6120 §11.1)";

	expect("<!DOCTYPE message><message to='a@b'/>", dt, "plain DOCTYPE");
	expect("<!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]>"
	       "<message to='a@b'>&e;</message>",
	    dt, "classic XXE");
	expect("<?xml version='1.0'?>"
	       "<!DOCTYPE lolz [<!ENTITY lol 'lol'>"
	       "<!ENTITY l1 '&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;'>"
	       "<!ENTITY l2 '&l1;&l1;&l1;&l1;&l1;&l1;&l1;&l1;&l1;&l1;'>"
	       "<!ENTITY l3 '&l2;&l2;&l2;&l2;&l2;&l2;&l2;&l2;&l2;&l2;'>"
	       "<!ENTITY l4 '&l3;&l3;&l3;&l3;&l3;&l3;&l3;&l3;&l3;&l3;'>"
	       "<!ENTITY l5 '&l4;&l4;&l4;&l4;&l4;&l4;&l4;&l4;&l4;&l4;'>"
	       "<!ENTITY l6 '&l5;&l5;&l5;&l5;&l5;&l5;&l5;&l5;&l5;&l5;'>"
	       "<!ENTITY l7 '&l6;&l6;&l6;&l6;&l6;&l6;&l6;&l6;&l6;&l6;'>"
	       "<!ENTITY l8 '&l7;&l7;&l7;&l7;&l7;&l7;&l7;&l7;&l7;&l7;'>"
	       "<!ENTITY l9 '&l8;&l8;&l8;&l8;&l8;&l8;&l8;&l8;&l8;&l8;'>]>"
	       "<message to='a@b'><body>&l9;</body></message>",
	    dt, "billion laughs");
	expect("<!DOCTYPE message SYSTEM 'http://127.0.0.1:1/x.dtd'>"
	       "<message to='a@b'/>",
	    dt, "external DTD");
	expect("<!DOCTYPE x [<!ENTITY % p SYSTEM 'file:///etc/passwd'> %p;]>"
	       "<message to='a@b'/>",
	    dt, "parameter entity");
}

static void
test_entities(void)
{
	const char *nope = "400 entity reference &nope; is not allowed in "
			   "XMPP (RFC 6120 §11.1)";

	expect("<message to='a@b'><body>&nope;</body></message>", nope,
	    "undefined entity in text");
	expect("<message to='a@b' id='&nope;'/>", nope,
	    "undefined entity in an attribute");
	/* libxml2's last error here is the tag mismatch; ours is the first. */
	expect("<message to='a@b'>&nope;</mesage>", nope,
	    "entity named even when more errors follow");
	accept("<message to='a@b' id='1'><body>&#x263A; &#9786;</body>"
	       "</message>",
	    "<message from='rest.example' to='a@b' id='1'><body>"
	    "\xe2\x98\xba \xe2\x98\xba</body></message>",
	    "character references become UTF-8");
	accept("<message to='a@b' id='1'><body>a &amp; b &lt;c&gt; "
	       "&quot;&apos;</body></message>",
	    "<message from='rest.example' to='a@b' id='1'><body>"
	    "a &amp; b &lt;c&gt; \"'</body></message>",
	    "&amp; stays escaped, predefined entities fine");
	expect_has("<message to='a@b'>&#1;</message>",
	    "400 line 1: ", "char ref to a control character is not XML");
}

static void
test_not_well_formed(void)
{
	char *got;

	expect("<message to='a@b'>",
	    "400 line 1: Premature end of data in "
	    "tag message line 1",
	    "unclosed tag");
	expect("<message to='a@b'/><iq/>",
	    "400 line 1: Extra content at the end of the document",
	    "<message/><iq/> is extra content");
	expect("<message to='a@b'/>junk",
	    "400 line 1: Extra content at the end of the document",
	    "trailing junk");
	got = verdict(
	    "<message to='a@b'><body>caf\xe9</body></message>", 43, &deflim);
	T_EQ_STR(got,
	    "400 line 1: Input is not proper UTF-8, indicate "
	    "encoding !",
	    "Latin-1 byte: first line only, trailing space trimmed");
	free(got);
	expect("<?xml version='1.0' encoding='ISO-8859-1'?>"
	       "<message to='a@b'><body>caf\xe9</body></message>",
	    "400 line 1: Input is not proper UTF-8, indicate encoding !",
	    "declared Latin-1 is ignored: the body is UTF-8");
	expect_has("<message to='a@b'>\n<body>\n</bdy>\n</message>",
	    "400 line 3: Opening and ending tag mismatch",
	    "line number of the error");
	expect_has("<message to='a@b' to='c@d'/>",
	    "400 line 1: Attribute to "
	    "redefined",
	    "duplicate attribute");
	expect_has("<message to='a@b'><x:f/></message>",
	    "400 line 1: Namespace prefix x on f is not defined",
	    "undeclared prefix (not namespace-well-formed)");
	expect_has("<message to='a@b' xmlns:x=''/>",
	    "400 line 1: ", "empty prefixed namespace");
	got = verdict("<message to='a@b'>\0</message>", 29, &deflim);
	T_HAS(got, "400 line 1: ", "NUL byte");
	free(got);
}

static void
test_comments_pis(void)
{
	const char *c = "400 comments are not allowed in XMPP (RFC 6120 §11.1)";
	const char *pi = "400 processing instructions are not allowed in "
			 "XMPP (RFC 6120 §11.1)";

	expect("<message to='a@b'><!-- hi --></message>", c, "comment inside");
	expect("<!-- hi --><message to='a@b'/>", c, "comment before root");
	expect("<message to='a@b'/><!-- hi -->", c, "comment after root");
	expect("<message to='a@b'><body><!----></body></message>", c,
	    "empty comment, nested");
	expect("<message to='a@b'><?pi x?></message>", pi, "PI inside");
	expect("<?pi x?><message to='a@b'/>", pi, "PI before root");
	expect("<message to='a@b'/><?pi?>", pi, "PI after root");
}

static void
test_xml_declaration(void)
{
	accept("<?xml version='1.0' encoding='UTF-8'?>\n"
	       "<message to='a@b' id='1'/>",
	    "<message from='rest.example' to='a@b' id='1'/>",
	    "XML declaration accepted, not serialized");
	accept("\xef\xbb\xbf<message to='a@b' id='1'/>",
	    "<message from='rest.example' to='a@b' id='1'/>",
	    "UTF-8 BOM accepted, not serialized");
}

/* n nested <x> elements under a message (the message is depth 1). */
static char *
nested(int depth)
{
	size_t cap = (size_t)depth * 8 + 64;
	char *s = malloc(cap);

	if (s == NULL)
		return NULL;
	strcpy(s, "<message to='a@b' id='1'>");
	for (int i = 1; i < depth; i++)
		strcat(s, "<x>");
	for (int i = 1; i < depth; i++)
		strcat(s, "</x>");
	strcat(s, "</message>");
	return s;
}

static void
test_depth(void)
{
	struct stanza_limits lim = deflim;
	char *body, *got;

	body = nested(33);
	got = verdict(body, strlen(body), &deflim);
	T_EQ_STR(got, "422 nesting deeper than max_stanza_depth (32)",
	    "33 deep refused at the default 32");
	free(got);
	free(body);

	body = nested(32);
	got = verdict(body, strlen(body), &deflim);
	T_HAS(got, "accepted: ", "exactly 32 deep accepted");
	T_HAS(got, "<x><x/></x></x>", "deepest element serialized");
	free(got);
	free(body);

	lim.max_depth = 1;
	got = verdict("<message to='a@b'><body/></message>", 35, &lim);
	T_EQ_STR(got, "422 nesting deeper than max_stanza_depth (1)",
	    "the limit is configurable; root is depth 1");
	free(got);
	got = verdict("<message to='a@b'>text</message>", 32, &lim);
	T_HAS(got, "accepted: ", "text does not count as depth");
	free(got);

	/* Far deeper than libxml2's own 256 stays a clean refusal. */
	body = nested(300);
	got = verdict(body, strlen(body), &deflim);
	T_HAS(got, "400 line 1: Excessive depth",
	    "300 deep stopped by the parser");
	free(got);
	free(body);
}

/* A message with nattr attributes on the root or on a child. */
static char *
many_attrs(int nattr, int on_child)
{
	char *s = malloc((size_t)nattr * 16 + 128);
	char a[32];

	if (s == NULL)
		return NULL;
	strcpy(s, on_child ? "<message to='a@b' id='1'><x" : "<message");
	for (int i = on_child ? 0 : 2; i < nattr; i++) {
		snprintf(a, sizeof(a), " a%d='%d'", i, i);
		strcat(s, a);
	}
	strcat(s, on_child ? "/></message>" : " to='a@b' id='1'/>");
	return s;
}

static void
test_attributes(void)
{
	char *body, *got;

	body = many_attrs(65, 0);
	got = verdict(body, strlen(body), &deflim);
	T_EQ_STR(got,
	    "422 element <message> has 65 attributes; limit is 64 "
	    "(max_stanza_attributes)",
	    "65 attributes on the root refused");
	free(got);
	free(body);

	body = many_attrs(64, 0);
	got = verdict(body, strlen(body), &deflim);
	T_HAS(got, "accepted: ", "64 attributes accepted");
	free(got);
	free(body);

	body = many_attrs(65, 1);
	got = verdict(body, strlen(body), &deflim);
	T_EQ_STR(got,
	    "422 element <x> has 65 attributes; limit is 64 "
	    "(max_stanza_attributes)",
	    "65 attributes on a child refused");
	free(got);
	free(body);

	{
		struct stanza_limits lim = deflim;
		const char *b = "<message to='a@b'><p:x xmlns:p='urn:p' "
				"xmlns='urn:d' a='1'/></message>";

		lim.max_attrs = 2;
		got = verdict(b, strlen(b), &lim);
		T_EQ_STR(got,
		    "422 element <p:x> has 3 attributes; limit is 2 "
		    "(max_stanza_attributes)",
		    "namespace declarations count as attributes");
		free(got);
	}
}

/* Findings of fuzz_stanza (their inputs are in tests/fuzz/corpus/stanza). */
static void
test_fuzz_findings(void)
{
	char name[300], body[400];
	char *got;
	static const char bad_entity[] = "<message to='a@b'>&\xff;</message>";

	got = verdict(bad_entity, sizeof(bad_entity) - 1, &deflim);
	T_OK(got && strncmp(got, "400 ", 4) == 0 && strchr(got, '\xff') == NULL,
	    "an entity name of bad bytes: 400, and the text stays UTF-8");
	free(got);
	name[0] = '\0';
	for (int i = 0; i < 64; i++)
		strcat(name, "\xc3\xa9");
	snprintf(body, sizeof(body), "<%s/>", name);
	got = verdict(body, strlen(body), &deflim);
	T_OK(got && strncmp(got, "422 ", 4) == 0 && !strstr(got, "\xc3>"),
	    "a long non-ASCII element name is not cut inside a character");
	free(got);
	expect_has("<message to='a@b' xmlns:x='a&amp;b'/>",
	    "422 namespace name 'a&#38;b' contains '&'",
	    "a namespace name with '&': 422, not a changed namespace");
}

int
main(void)
{
	test_fuzz_findings();
	stanza_global_init();
	test_size();
	test_empty();
	test_dtd_attacks();
	test_entities();
	test_not_well_formed();
	test_comments_pis();
	test_xml_declaration();
	test_depth();
	test_attributes();
	T_EQ_INT(dirty_after_fail, 0, "every refusal left st empty");
	xmlCleanupParser();
	return t_done();
}
