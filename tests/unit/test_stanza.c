/*
 * The HTTP contract for a posted stanza: every refusal with its exact
 * status and text, the attacks a web-facing XML parser meets (XXE,
 * entity expansion, deep nesting), and the serializer: what it drops,
 * what it keeps, and that its output parses back to the same stanza.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "stanza.h"
#include "util.h"
#include "t.h"

#define DOMAIN "rest.example"

static const struct stanza_limits deflim = {192 * 1024, 32, 64};

/* Set when a refusal leaves anything in st (it must come back empty). */
static int dirty_after_fail;

/* "STATUS text" on refusal, or "accepted: XML"; caller frees. */
static char *
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

static void
expect(const char *body, const char *want, const char *what)
{
	char *got = verdict(body, strlen(body), &deflim);

	T_EQ_STR(got, want, what);
	free(got);
}

/* For texts that quote libxml2: the part that is ours, plus a needle. */
static void
expect_has(const char *body, const char *needle, const char *what)
{
	char *got = verdict(body, strlen(body), &deflim);

	T_HAS(got, needle, what);
	free(got);
}

static void
accept(const char *body, const char *xml, const char *what)
{
	char want[8192];

	snprintf(want, sizeof(want), "accepted: %s", xml);
	expect(body, want, what);
}

/* Parses body with the default limits; the caller frees st. */
static int
parse(const char *body, struct stanza *st, struct stanza_error *e)
{
	return stanza_parse(body, strlen(body), &deflim, DOMAIN, st, e);
}

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

/* The limit is on what is written: escaped text grows past it. */
static void
test_serialized_size(void)
{
	struct stanza_limits lim = deflim;
	const char *body = "<message to='a@b' id='1'><body>>>>>>>>>>></body>"
			   "</message>";
	char *big, *got;
	size_t n = 190 * 1024, off;

	lim.max_bytes = strlen(body) + 30;
	got = verdict(body, strlen(body), &lim);
	T_EQ_STR(got,
	    "413 stanza is 108 bytes once serialized for XMPP; limit is 88 "
	    "(max_stanza_bytes)",
	    "'>' escaped as &gt; past the limit: 413 naming it");
	free(got);
	lim.max_bytes = 108;
	got = verdict(body, strlen(body), &lim);
	T_HAS(got, "accepted: ", "serialized exactly at the limit is fine");
	free(got);
	/* The audit's case: 190 KB of '>' is about 760 KB once escaped,
	 * past Prosody's 512 KiB. */
	if ((big = malloc(n + 64)) == NULL)
		return;
	off = (size_t)snprintf(big, 64, "<message to='a@b'><body>");
	memset(big + off, '>', n);
	off += n;
	off += (size_t)snprintf(big + off, 64, "</body></message>");
	got = verdict(big, off, &deflim);
	T_HAS(got, "413 stanza is ", "190 KB of '>': 413");
	T_HAS(got, "limit is 196608 (max_stanza_bytes)", "and names the limit");
	free(got);
	free(big);
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

static void
test_root(void)
{
	expect("<foo to='a@b'/>",
	    "422 <foo> is not a stanza: expected message, presence or iq",
	    "root must be a stanza");
	expect("<stream:stream xmlns:stream='http://etherx.jabber.org/"
	       "streams' to='a@b'/>",
	    "422 <stream:stream> is not a stanza: expected message, "
	    "presence or iq",
	    "prefixed non-stanza root");
	expect("<message xmlns='urn:x' to='a@b'/>",
	    "422 stanza namespace must be jabber:client (or none), not "
	    "'urn:x'",
	    "foreign default namespace");
	expect("<c:message xmlns:c='jabber:server' to='a@b'/>",
	    "422 stanza namespace must be jabber:client (or none), not "
	    "'jabber:server'",
	    "foreign prefixed namespace");
	accept("<message xmlns='jabber:client' to='a@b' id='1'/>",
	    "<message from='rest.example' to='a@b' id='1'/>",
	    "jabber:client accepted, its default declaration dropped");
	accept("<c:message xmlns:c='jabber:client' to='a@b' id='1'/>",
	    "<c:message xmlns:c='jabber:client' from='rest.example' to='a@b' "
	    "id='1'/>",
	    "prefixed jabber:client kept as written");
}

static void
test_addresses(void)
{
	struct stanza st;
	struct stanza_error e;

	expect("<message/>", "422 missing 'to' address", "no 'to'");
	expect("<message x:to='a@b' xmlns:x='urn:x'/>",
	    "422 missing 'to' address", "namespaced 'to' is not 'to'");
	expect("<message to='a@'/>", "422 invalid 'to' JID: empty domainpart",
	    "invalid 'to'");
	expect("<message to=''/>", "422 invalid 'to' JID: empty JID",
	    "empty 'to'");
	expect("<message to='a b@c'/>",
	    "422 invalid 'to' JID: forbidden character ' ' in localpart",
	    "'to' with a space");
	expect("<message to='a@b' from='x@y/'/>",
	    "422 invalid 'from' JID: empty resourcepart", "invalid 'from'");
	expect("<message to='a@b' from='x@y'/>",
	    "403 'from' must be rest.example or a JID under it, not 'x@y'",
	    "foreign 'from' is 403");
	expect("<message to='a@b' from='x@sub.rest.example'/>",
	    "403 'from' must be rest.example or a JID under it, not "
	    "'x@sub.rest.example'",
	    "subdomain 'from' is 403");
	expect("<message to='a@b' from='x@y&#10;Set-Cookie: a'/>",
	    "422 invalid 'from' JID: control character U+000A in domainpart",
	    "no raw newline reaches the error text");
	/* Issue 14, finding 3: to the bridge's own domain, a stanza comes
	 * back to the bridge and its webhook (an echo bot loops). */
	expect("<message to='echo@rest.example' type='chat'/>",
	    "422 'to' must not be the bridge's own domain rest.example or a "
	    "JID under it, not 'echo@rest.example'",
	    "'to' under the bridge's own domain is 422");
	expect(
	    "<iq type='get' to='REST.example/r'><ping xmlns='urn:xmpp:ping'/>"
	    "</iq>",
	    "422 'to' must not be the bridge's own domain rest.example or a "
	    "JID under it, not 'REST.example/r'",
	    "'to' the domain itself, in other case, is 422");
	accept("<message to='a@sub.rest.example' id='1'/>",
	    "<message from='rest.example' to='a@sub.rest.example' id='1'/>",
	    "'to' a subdomain of the bridge's is another host: sent");
	accept("<message to='a@b' from='bot@REST.example/R' id='1'/>",
	    "<message from='bot@rest.example/R' to='a@b' id='1'/>",
	    "'from' under the domain: its domain spelled as configured, "
	    "the rest kept");
	accept("<message to='a@b' from='Rest.Example' id='1'/>",
	    "<message from='rest.example' to='a@b' id='1'/>",
	    "'from' the domain itself in other case: the configured spelling");
	accept("<message to='a@b' from='REST.EXAMPLE/x' id='1'/>",
	    "<message from='rest.example/x' to='a@b' id='1'/>",
	    "'from' domain/resource: the configured spelling");
	accept("<message to='a@b' from='' id='1'/>",
	    "<message from='rest.example' to='a@b' id='1'/>",
	    "empty 'from' becomes the domain");

	T_EQ_INT(parse("<message to='A@B/r' id='1'/>", &st, &e), 0, "parse ok");
	T_EQ_STR(st.to, "A@B/r", "st.to as given");
	T_EQ_STR(st.from, DOMAIN, "missing 'from' becomes the domain");
	T_EQ_STR(st.kind, "message", "st.kind");
	T_OK(st.type == NULL, "no type: st.type is NULL");
	stanza_free(&st);
}

static void
test_types(void)
{
	static const char *const mt[] = {
	    "chat", "error", "groupchat", "headline", "normal"};
	static const char *const pt[] = {"error", "probe", "subscribe",
	    "subscribed", "unavailable", "unsubscribe", "unsubscribed"};
	struct stanza st;
	struct stanza_error e;
	char body[256], what[128];

	expect("<iq to='a@b' type='result'><q xmlns='urn:q'/></iq>",
	    "422 iq type must be get or set, not 'result'", "iq result");
	expect("<iq to='a@b'><q xmlns='urn:q'/></iq>",
	    "422 iq needs a type (get or set)", "iq without type");
	expect("<iq to='a@b' type='get'/>",
	    "422 iq must have exactly one child element, it has 0",
	    "iq without payload");
	expect("<iq to='a@b' type='set'><a/><b/></iq>",
	    "422 iq must have exactly one child element, it has 2",
	    "iq with two payloads");
	accept("<iq to='a@b' type='get' id='q1'>\n  <ping xmlns='urn:xmpp:"
	       "ping'/>\n</iq>",
	    "<iq from='rest.example' to='a@b' id='q1' type='get'>\n  <ping "
	    "xmlns='urn:xmpp:ping'/>\n</iq>",
	    "iq get with one child (whitespace kept)");
	expect("<message to='a@b' type='spam'/>",
	    "422 message type must be chat, error, groupchat, headline or "
	    "normal, not 'spam'",
	    "bad message type");
	expect("<message to='a@b' type=''/>",
	    "422 message type must be chat, error, groupchat, headline or "
	    "normal, not ''",
	    "empty message type");
	expect("<presence to='a@b' type='available'/>",
	    "422 presence type must be error, probe, subscribe, subscribed, "
	    "unavailable, unsubscribe or unsubscribed, not 'available'",
	    "bad presence type");
	expect("<message to='a@b' type='a&#10;b'/>",
	    "422 message type must be chat, error, groupchat, headline or "
	    "normal, not 'a?b'",
	    "control characters in echoed values are replaced");
	for (size_t i = 0; i < sizeof(mt) / sizeof(mt[0]); i++) {
		snprintf(
		    body, sizeof(body), "<message to='a@b' type='%s'/>", mt[i]);
		snprintf(what, sizeof(what), "message type %s", mt[i]);
		T_EQ_INT(parse(body, &st, &e), 0, what);
		T_EQ_STR(st.type, mt[i], "st.type as given");
		stanza_free(&st);
	}
	for (size_t i = 0; i < sizeof(pt) / sizeof(pt[0]); i++) {
		snprintf(body, sizeof(body), "<presence to='a@b' type='%s'/>",
		    pt[i]);
		snprintf(what, sizeof(what), "presence type %s", pt[i]);
		T_EQ_INT(parse(body, &st, &e), 0, what);
		stanza_free(&st);
	}
	accept("<presence to='a@b' id='1'/>",
	    "<presence from='rest.example' to='a@b' id='1'/>",
	    "presence without type");
}

static void
test_ids(void)
{
	struct stanza st;
	struct stanza_error e;
	char body[512], id[300], want[700];

	T_EQ_INT(parse("<message to='a@b'/>", &st, &e), 0, "no id: parse ok");
	T_EQ_INT(strlen(st.id), XR_ID_LEN, "generated id has 24 characters");
	T_EQ_INT(st.id_generated, 1, "id_generated set");
	snprintf(want, sizeof(want),
	    "<message from='rest.example' to='a@b' id='%s'/>", st.id);
	T_EQ_STR(st.xml, want, "generated id is serialized");
	T_EQ_INT(st.xml_len, strlen(want), "xml_len matches");
	stanza_free(&st);

	T_EQ_INT(parse("<message to='a@b' id=''/>", &st, &e), 0, "empty id");
	T_EQ_INT(strlen(st.id), XR_ID_LEN, "empty id replaced");
	T_EQ_INT(st.id_generated, 1, "empty id: id_generated set");
	stanza_free(&st);

	T_EQ_INT(parse("<message to='a@b' id='abc'/>", &st, &e), 0, "own id");
	T_EQ_STR(st.id, "abc", "given id kept");
	T_EQ_INT(st.id_generated, 0, "given id: id_generated 0");
	stanza_free(&st);

	memset(id, 'i', 256);
	id[256] = '\0';
	snprintf(body, sizeof(body), "<message to='a@b' id='%s'/>", id);
	T_EQ_INT(parse(body, &st, &e), 0, "256-byte id accepted");
	stanza_free(&st);
	memset(id, 'i', 257);
	id[257] = '\0';
	snprintf(body, sizeof(body), "<message to='a@b' id='%s'/>", id);
	expect(body, "422 id is 257 bytes; limit is 256", "257-byte id");

	/* The audit's header injection through X-Stanza-Id. */
	expect("<message to='a@b' id='x&#13;&#10;Set-Cookie: sid=a'/>",
	    "422 'id' must not contain control characters (U+000D at byte 1)",
	    "CR LF in id: 422 naming id");
	expect("<message to='a@b' id='a&#9;b'/>",
	    "422 'id' must not contain control characters (U+0009 at byte 1)",
	    "tab in id: 422");
	expect("<message to='a@b' id='ab\x7f'/>",
	    "422 'id' must not contain control characters (U+007F at byte 2)",
	    "DEL in id: 422");
	expect("<message to='a@b' id='a\xc2\x85'/>",
	    "422 'id' must not contain control characters (U+0085 at byte 1)",
	    "C1 NEL in id: 422");
	accept("<message to='a@b' id='caf\xc3\xa9 \xc2\xa0x'/>",
	    "<message from='rest.example' to='a@b' id='caf\xc3\xa9 "
	    "\xc2\xa0x'/>",
	    "non-ASCII and spaces in id are fine");
}

/* The bridge's check: the stanza must be what the frame says. */
static void
claim(const char *xml, const struct stanza_claim *c, const char *want,
    const char *what)
{
	struct stanza st;
	struct stanza_error e;
	char got[XR_ERRLEN + 16];

	if (stanza_check_claim(xml, strlen(xml), &deflim, DOMAIN, c, &st, &e) ==
	    0) {
		snprintf(got, sizeof(got), "ok %s", st.xml);
		stanza_free(&st);
	} else {
		snprintf(got, sizeof(got), "%d %s", e.status, e.text);
		if (st.xml != NULL || st.from != NULL)
			dirty_after_fail = 1;
	}
	T_EQ_STR(got, want, what);
}

static void
test_claims(void)
{
	static const struct stanza_claim msg = {
	    "message", "m1", "a@b", "bot@rest.example", NULL};
	static const struct stanza_claim iq = {
	    "iq", "q1", "b", "rest.example", "get"};
	const char *ok = "<message from='bot@rest.example' to='a@b' id='m1'/>";

	claim(ok, &msg,
	    "ok <message from='bot@rest.example' to='a@b' id='m1'/>",
	    "what the responder makes passes");
	claim("<message from='bot@REST.example' to='a@b' id='m1'/>", &msg,
	    "ok <message from='bot@rest.example' to='a@b' id='m1'/>",
	    "a from in other case passes and is written as configured");
	claim(
	    "<iq from='bot@rest.example' to='a@b' id='m1' type='get'><p/></iq>",
	    &msg, "400 the stanza's name is 'iq', the frame's is 'message'",
	    "name other than KIND");
	claim("<message from='admin@rest.example' to='a@b' id='m1'/>", &msg,
	    "400 the stanza's from is 'admin@rest.example', the frame's is "
	    "'bot@rest.example'",
	    "from other than FROM");
	claim("<message to='a@b' id='m1'/>", &msg,
	    "400 the stanza's from is 'rest.example', the frame's is "
	    "'bot@rest.example'",
	    "no from: the domain, not FROM");
	claim("<message from='bot@rest.example' to='c@d' id='m1'/>", &msg,
	    "400 the stanza's to is 'c@d', the frame's is 'a@b'",
	    "to other than TO");
	claim("<message from='bot@rest.example' to='a@b' id='m2'/>", &msg,
	    "400 the stanza's id is 'm2', the frame's is 'm1'",
	    "id other than ID");
	claim("<message from='bot@rest.example' to='a@b'/>", &msg,
	    "400 the stanza's id is absent, the frame's is 'm1'", "no id");
	claim("<message from='bot@rest.example' to='a@b' id='m1' type='chat'/>",
	    &msg, "400 the stanza's type is 'chat', the frame's is absent",
	    "a type the frame does not carry");
	claim("<iq from='rest.example' to='b' id='q1' type='set'><p/></iq>",
	    &iq, "400 the stanza's type is 'set', the frame's is 'get'",
	    "type other than TYPE");
	claim("<message from='bot@rest.example' to='a@b' id='m1'/><iq/>", &msg,
	    "400 line 1: Extra content at the end of the document",
	    "two elements");
	claim("<message from='bot@rest.example' to='a@b' id='m1'/>junk", &msg,
	    "400 line 1: Extra content at the end of the document",
	    "trailing junk");
	claim("<message from='bot@rest.example' to='a@b' id='m1'><!--c-->"
	      "</message>",
	    &msg, "400 comments are not allowed in XMPP (RFC 6120 §11.1)",
	    "a comment");
	claim("<message from='bot@rest.example' to='a@b' id='m1'><?pi x?>"
	      "</message>",
	    &msg,
	    "400 processing instructions are not allowed in XMPP (RFC 6120 "
	    "§11.1)",
	    "a PI");
	claim("<!DOCTYPE message><message from='bot@rest.example' to='a@b' "
	      "id='m1'/>",
	    &msg, "400 DOCTYPE is not allowed in XMPP (RFC 6120 §11.1)",
	    "a DOCTYPE");
	claim("<?xml version='1.0'?><message from='bot@rest.example' to='a@b' "
	      "id='m1'/>",
	    &msg, "ok <message from='bot@rest.example' to='a@b' id='m1'/>",
	    "an XML declaration is not written");
}

static void
test_receipts(void)
{
	struct stanza st;
	struct stanza_error e;

	T_EQ_INT(parse("<message to='a@b'><body>x</body><request xmlns='urn:"
		       "xmpp:receipts'/></message>",
		     &st, &e),
	    0, "receipt request parses");
	T_EQ_INT(st.wants_receipt, 1, "wants_receipt");
	stanza_free(&st);
	T_EQ_INT(parse("<message to='a@b'><request xmlns='urn:other'/>"
		       "</message>",
		     &st, &e),
	    0, "other request");
	T_EQ_INT(st.wants_receipt, 0, "request in another namespace");
	stanza_free(&st);
	T_EQ_INT(parse("<message to='a@b'><x><request xmlns='urn:xmpp:"
		       "receipts'/></x></message>",
		     &st, &e),
	    0, "nested request");
	T_EQ_INT(st.wants_receipt, 0, "only a direct child counts");
	stanza_free(&st);
	T_EQ_INT(parse("<iq to='a@b' type='get'><request xmlns='urn:xmpp:"
		       "receipts'/></iq>",
		     &st, &e),
	    0, "iq with request");
	T_EQ_INT(st.wants_receipt, 0, "only messages want receipts");
	stanza_free(&st);
}

static void
test_serialize(void)
{
	accept("<message xmlns='jabber:client' to='a@b' foo='bar' "
	       "type='chat' xml:lang='de' x:y='1' xmlns:x='urn:x' id='7' "
	       "from='rest.example'><body>hi</body></message>",
	    "<message xmlns:x='urn:x' from='rest.example' to='a@b' id='7' "
	    "type='chat' xml:lang='de'><body>hi</body></message>",
	    "root: only from/to/id/type/xml:lang, in that order");
	accept("<message to='a@b' id='1'><body xml:lang='fr'>s</body>"
	       "<x:f xmlns:x='urn:f' x:a='1' b='2'/></message>",
	    "<message from='rest.example' to='a@b' id='1'><body "
	    "xml:lang='fr'>s</body><x:f xmlns:x='urn:f' x:a='1' b='2'/>"
	    "</message>",
	    "xml:lang and a prefixed extension survive");
	accept("<message to='a@b' id='1' xmlns:x='urn:x'><x:a><x:b/></x:a>"
	       "</message>",
	    "<message xmlns:x='urn:x' from='rest.example' to='a@b' id='1'>"
	    "<x:a><x:b/></x:a></message>",
	    "prefix declared on the root stays declared");
	accept("<message to='a@b' id='1'><x xmlns='urn:a'><y xmlns=''/>"
	       "</x></message>",
	    "<message from='rest.example' to='a@b' id='1'><x xmlns='urn:a'>"
	    "<y xmlns=''/></x></message>",
	    "xmlns='' undeclaration kept");
	accept("<message to='a@b' id='1'><body><![CDATA[a<b]]>c&amp;"
	       "<![CDATA[]]]]><![CDATA[>]]></body></message>",
	    "<message from='rest.example' to='a@b' id='1'><body>a&lt;bc&amp;"
	    "]]&gt;</body></message>",
	    "CDATA merged into escaped text, ']]>' cannot reappear");
	accept("<message to='a@b' id='1'><body>a&#13;b\r\nc</body></message>",
	    "<message from='rest.example' to='a@b' id='1'><body>a&#13;b\nc"
	    "</body></message>",
	    "CR kept as &#13;, CRLF normalized by the parser");
	accept("<message to='a@b' id='1'><x a='&apos;&quot;&amp;&lt;&gt;' "
	       "b='t&#9;n&#10;r&#13;' c='raw\ttab'/></message>",
	    "<message from='rest.example' to='a@b' id='1'><x "
	    "a='&apos;\"&amp;&lt;>' b='t&#9;n&#10;r&#13;' c='raw tab'/>"
	    "</message>",
	    "attribute escapes; raw whitespace already normalized");
	accept("<message to='a@b' id=\"it's\"/>",
	    "<message from='rest.example' to='a@b' id='it&apos;s'/>",
	    "root attribute values are escaped too");
	accept("<message to='a@b' id='1'><e></e></message>",
	    "<message from='rest.example' to='a@b' id='1'><e/></message>",
	    "empty element as <x/>");
}

/* The output alone, parsed by libxml2, is the same tree and is stable. */
static void
test_round_trip(void)
{
	const char *body =
	    "<?xml version='1.0'?><message xmlns='jabber:client' to='a@b/r' "
	    "type='chat' id='r1' xml:lang='en'><body>1 &lt; 2 &amp;&amp; "
	    "&#x263A;</body><html xmlns='http://jabber.org/protocol/xhtml-im'"
	    "><body xmlns='http://www.w3.org/1999/xhtml' xml:lang='en'><p "
	    "style='a:b'>hi<br/>there</p></body></html><x:y xmlns:x='urn:x' "
	    "x:z='q&apos;&#10;'/><request xmlns='urn:xmpp:receipts'/>"
	    "</message>";
	struct stanza a, b;
	struct stanza_error e;
	xmlDocPtr doc;

	T_EQ_INT(parse(body, &a, &e), 0, "rich stanza accepted");
	T_EQ_INT(a.wants_receipt, 1, "rich stanza wants a receipt");
	doc = xmlReadMemory(a.xml, (int)a.xml_len, NULL, "UTF-8",
	    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	T_OK(doc != NULL, "output is well-formed on its own");
	if (doc != NULL) {
		xmlNodePtr r = xmlDocGetRootElement(doc);
		xmlNodePtr p = r->children->next->children->children;
		xmlChar *z = xmlGetNsProp(r->children->next->next,
		    (const xmlChar *)"z", (const xmlChar *)"urn:x");

		T_OK(p != NULL && p->ns != NULL &&
			strcmp((const char *)p->ns->href,
			    "http://www.w3.org/1999/xhtml") == 0,
		    "nested default namespace survives");
		T_EQ_STR((const char *)z, "q'\n", "attribute value survives");
		xmlFree(z);
		xmlFreeDoc(doc);
	}
	T_EQ_INT(parse(a.xml, &b, &e), 0, "output accepted again");
	T_EQ_STR(b.xml, a.xml, "serialization is a fixed point");
	stanza_free(&a);
	stanza_free(&b);
}

static void
test_free(void)
{
	struct stanza st;
	struct stanza_error e;
	static const struct stanza zero;

	memset(&st, 0, sizeof(st));
	stanza_free(&st);
	T_OK(memcmp(&st, &zero, sizeof(st)) == 0,
	    "stanza_free on a zeroed struct");
	stanza_free(NULL);
	T_OK(1, "stanza_free(NULL)");
	T_EQ_INT(parse("<message to='a@b'/>", &st, &e), 0, "parse");
	stanza_free(&st);
	T_OK(memcmp(&st, &zero, sizeof(st)) == 0, "stanza_free zeroes");
	stanza_free(&st);
	T_OK(1, "second stanza_free is harmless");
	T_EQ_INT(parse("<message to='a@b' from='x@y'/>", &st, &e), -1,
	    "refusal after fields were filled");
	T_OK(memcmp(&st, &zero, sizeof(st)) == 0, "refusal leaves st empty");
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
	test_serialized_size();
	test_empty();
	test_dtd_attacks();
	test_entities();
	test_not_well_formed();
	test_comments_pis();
	test_xml_declaration();
	test_depth();
	test_attributes();
	test_root();
	test_addresses();
	test_types();
	test_ids();
	test_claims();
	test_receipts();
	test_serialize();
	test_round_trip();
	test_free();
	T_EQ_INT(dirty_after_fail, 0, "every refusal left st empty");
	xmlCleanupParser();
	return t_done();
}
