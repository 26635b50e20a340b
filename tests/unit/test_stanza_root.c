/*
 * A posted stanza's root: its name and namespace, its addresses (to, and
 * a from the bridge fills in or checks), its type and id, a receipt
 * request; and the bridge's own check that a stanza is what its frame
 * claims (stanza_check_claim).
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

int
main(void)
{
	stanza_global_init();
	test_root();
	test_addresses();
	test_types();
	test_ids();
	test_claims();
	test_receipts();
	T_EQ_INT(dirty_after_fail, 0, "every refusal left st empty");
	xmlCleanupParser();
	return t_done();
}
