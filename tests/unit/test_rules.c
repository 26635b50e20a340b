/*
 * The reply rules, on real libstrophe stanzas: what goes back over XMPP
 * for each kind of webhook answer.
 */
#include <stdlib.h>
#include <string.h>

#include <strophe.h>

#include "rules.h"
#include "t.h"

static xmpp_ctx_t *ctx;

static xmpp_stanza_t *
parse(const char *xml)
{
	return xmpp_stanza_new_from_string(ctx, xml);
}

/* The serialized form of st, in a static buffer (tests only). */
static const char *
text(xmpp_stanza_t *st)
{
	static char buf[4096];
	char *t = NULL;
	size_t n = 0;

	buf[0] = '\0';
	if (st && xmpp_stanza_to_text(st, &t, &n) == XMPP_EOK) {
		snprintf(buf, sizeof(buf), "%s", t);
		xmpp_free(ctx, t);
	}
	return buf;
}

static int
answer(const char *orig_xml, int status, const char *reason, const char *ctype,
    const char *body, xmpp_stanza_t *out[2])
{
	xmpp_stanza_t *orig = parse(orig_xml);
	struct wh_result r = {WH_RESPONSE, status, reason, ctype, body,
	    body ? strlen(body) : 0, NULL, 0};
	int n = rules_answer(ctx, orig, &r, "rest.example", out);

	xmpp_stanza_release(orig);
	return n;
}

static void
release(xmpp_stanza_t *out[2], int n)
{
	for (int i = 0; i < n; i++)
		xmpp_stanza_release(out[i]);
}

#define IQ_GET                                                   \
	"<iq type='get' id='q1' from='alice@example.org/phone' " \
	"to='bot@rest.example'><query xmlns='urn:x'/></iq>"
#define MSG                                                            \
	"<message type='chat' id='m1' from='alice@example.org/phone' " \
	"to='bot@rest.example'><body>hi</body><thread>t7</thread></message>"

static void
test_no_content(void)
{
	xmpp_stanza_t *out[2];
	int n;

	n = answer(IQ_GET, 204, "No Content", "", NULL, out);
	T_EQ_INT(n, 1, "204 to an iq get: one answer");
	T_HAS(text(out[0]), "type=\"result\"", "an empty result");
	T_HAS(text(out[0]), "id=\"q1\"", "with the original id");
	T_HAS(text(out[0]), "to=\"alice@example.org/phone\"", "to the sender");
	T_HAS(text(out[0]), "from=\"bot@rest.example\"", "from the addressee");
	T_OK(strstr(text(out[0]), "query") == NULL, "and empty");
	release(out, n);
	T_EQ_INT(answer(MSG, 202, "Accepted", "", NULL, out), 0,
	    "202 to a message: no reply");
	T_EQ_INT(answer(MSG, 200, "OK", "text/plain", "thanks", out), 0,
	    "200 text/plain to a message: no reply");
	n = answer(IQ_GET, 200, "OK", "text/html", "<p>hi</p>", out);
	T_EQ_INT(n, 1, "200 text/html to an iq: an answer");
	T_HAS(text(out[0]), "type=\"result\"", "an empty result");
	release(out, n);
}

static void
test_stanza_bodies(void)
{
	xmpp_stanza_t *out[2];
	int n;

	n = answer(MSG, 200, "OK", "application/xmpp+xml; charset=utf-8",
	    "<?xml version='1.0'?>\n<message><body>hello back</body></message>",
	    out);
	T_EQ_INT(n, 1, "a message body becomes the reply");
	T_HAS(text(out[0]), "hello back", "its content");
	T_HAS(text(out[0]), "to=\"alice@example.org/phone\"", "to the sender");
	T_HAS(text(out[0]), "from=\"bot@rest.example\"", "from the addressee");
	T_HAS(text(out[0]), "type=\"chat\"", "the original's type");
	T_HAS(text(out[0]), "<thread>t7</thread>", "the original's thread");
	release(out, n);

	n = answer(MSG, 200, "OK", "application/xmpp+xml",
	    "<message type='headline' from='other@rest.example' "
	    "to='mallory@evil'><body>x</body><thread>mine</thread></message>",
	    out);
	T_HAS(text(out[0]), "type=\"headline\"", "a type of its own is kept");
	T_HAS(text(out[0]), "from=\"other@rest.example\"",
	    "a from under the bridge's domain is kept");
	T_HAS(text(out[0]), "to=\"alice@example.org/phone\"",
	    "to is always the sender");
	T_OK(strstr(text(out[0]), "t7") == NULL, "its own thread is kept");
	release(out, n);

	n = answer(MSG, 200, "OK", "application/xmpp+xml",
	    "<message from='bot@elsewhere.example'><body>x</body></message>",
	    out);
	T_HAS(text(out[0]), "from=\"bot@rest.example\"",
	    "a from outside the domain is replaced");
	release(out, n);

	n = answer(IQ_GET, 200, "OK", "application/xmpp+xml",
	    "<iq type='set' id='other'><query "
	    "xmlns='urn:x'><item/></query></iq>",
	    out);
	T_EQ_INT(n, 1, "an iq body becomes the reply");
	T_HAS(text(out[0]), "type=\"result\"", "type result");
	T_HAS(text(out[0]), "id=\"q1\"", "the original id");
	T_HAS(text(out[0]), "<item/>", "its payload");
	release(out, n);

	n = answer(IQ_GET, 200, "OK", "application/xmpp+xml",
	    "<iq><error type='cancel'><gone "
	    "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>",
	    out);
	T_HAS(text(out[0]), "type=\"error\"",
	    "an iq body with <error/>: type error");
	release(out, n);

	n = answer(IQ_GET, 200, "OK", "application/xmpp+xml",
	    "<message><body>wrong kind</body></message>", out);
	T_EQ_INT(n, 1, "a body of another kind is ignored");
	T_OK(strstr(text(out[0]), "wrong kind") == NULL &&
		strstr(text(out[0]), "type=\"result\""),
	    "the iq gets an empty result instead");
	release(out, n);

	n = answer(
	    IQ_GET, 200, "OK", "application/xmpp+xml", "<iq><unclosed>", out);
	T_HAS(text(out[0]), "type=\"result\"", "a broken body is ignored");
	release(out, n);

	n = answer(IQ_GET, 404, "Not Found", "application/xmpp+xml",
	    "<iq type='result'><query xmlns='urn:x'>found after "
	    "all</query></iq>",
	    out);
	T_EQ_INT(n, 1, "a stanza body replaces the error of a 4xx");
	T_HAS(text(out[0]), "found after all", "its content");
	T_HAS(text(out[0]), "type=\"result\"", "as the reply");
	release(out, n);
}

static void
test_status_table(void)
{
	static const struct {
		int status;
		const char *reason, *type, *cond;
	} cases[] = {
	    {400, "Bad Request", "modify", "bad-request"},
	    {411, "Length Required", "modify", "bad-request"},
	    {416, "Range Not Satisfiable", "modify", "bad-request"},
	    {422, "Unprocessable Content", "modify", "bad-request"},
	    {401, "Unauthorized", "auth", "not-authorized"},
	    {511, "Network Authentication Required", "auth", "not-authorized"},
	    {402, "Payment Required", "auth", "payment-required"},
	    {403, "Forbidden", "auth", "forbidden"},
	    {451, "Unavailable For Legal Reasons", "auth", "forbidden"},
	    {404, "Not Found", "cancel", "item-not-found"},
	    {405, "Method Not Allowed", "cancel", "not-allowed"},
	    {406, "Not Acceptable", "modify", "not-acceptable"},
	    {407, "Proxy Authentication Required", "auth",
		"registration-required"},
	    {408, "Request Timeout", "wait", "remote-server-timeout"},
	    {502, "Bad Gateway", "wait", "remote-server-timeout"},
	    {504, "Gateway Timeout", "wait", "remote-server-timeout"},
	    {409, "Conflict", "cancel", "conflict"},
	    {412, "Precondition Failed", "cancel", "conflict"},
	    {410, "Gone", "cancel", "gone"},
	    {413, "Content Too Large", "modify", "resource-constraint"},
	    {414, "URI Too Long", "modify", "resource-constraint"},
	    {431, "Request Header Fields Too Large", "modify",
		"resource-constraint"},
	    {415, "Unsupported Media Type", "cancel",
		"feature-not-implemented"},
	    {501, "Not Implemented", "cancel", "feature-not-implemented"},
	    {423, "Locked", "wait", "resource-constraint"},
	    {429, "Too Many Requests", "wait", "resource-constraint"},
	    {507, "Insufficient Storage", "wait", "resource-constraint"},
	    {500, "Internal Server Error", "wait", "internal-server-error"},
	    {503, "Service Unavailable", "cancel", "service-unavailable"},
	    {418, "I'm a teapot", "cancel", "undefined-condition"},
	    {599, "", "cancel", "undefined-condition"},
	    {302, "Found", "cancel", "undefined-condition"},
	};
	xmpp_stanza_t *out[2];
	char what[160], want[160];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int n = answer(
		    IQ_GET, cases[i].status, cases[i].reason, "", NULL, out);
		const char *t = text(out[0]);

		snprintf(what, sizeof(what), "%d: %s/%s with text '%d %s'",
		    cases[i].status, cases[i].type, cases[i].cond,
		    cases[i].status, cases[i].reason);
		snprintf(want, sizeof(want), "<error type=\"%s\"><%s",
		    cases[i].type, cases[i].cond);
		T_OK(n == 1 && strstr(t, want) != NULL &&
			strstr(t, "type=\"error\"") != NULL,
		    what);
		snprintf(want, sizeof(want), ">%d%s%s</text>", cases[i].status,
		    *cases[i].reason ? " " : "", cases[i].reason);
		T_HAS(t, want, "the status line is the error text");
		release(out, n);
	}
	T_EQ_INT(answer(MSG, 503, "Service Unavailable", "", NULL, out), 1,
	    "a message gets an error reply too");
	T_HAS(text(out[0]), "to=\"alice@example.org/phone\"", "to the sender");
	T_HAS(text(out[0]), "from=\"bot@rest.example\"", "from the addressee");
	release(out, 1);
}

static void
test_failures_and_silence(void)
{
	xmpp_stanza_t *orig = parse(IQ_GET), *out[2];
	struct wh_result r = {WH_UNREACHABLE, 0, "", "", NULL, 0,
	    "connect 127.0.0.1:9: Connection refused", 0};
	int n = rules_answer(ctx, orig, &r, "rest.example", out);

	T_EQ_INT(n, 1, "unreachable: an error reply");
	T_HAS(text(out[0]), "<error type=\"wait\"><recipient-unavailable",
	    "wait/recipient-unavailable");
	T_HAS(text(out[0]), "Connection refused", "saying why");
	release(out, n);
	r.kind = WH_TIMEOUT;
	r.error = "no response within 1000 ms";
	n = rules_answer(ctx, orig, &r, "rest.example", out);
	T_HAS(text(out[0]), "<error type=\"wait\"><remote-server-timeout",
	    "deadline: wait/remote-server-timeout");
	release(out, n);
	r.kind = WH_REFUSED;
	r.error = "callback URL path is longer than 2047 characters";
	n = rules_answer(ctx, orig, &r, "rest.example", out);
	T_EQ_INT(n, 1, "refused: an error reply");
	T_HAS(text(out[0]), "<error type=\"cancel\"><internal-server-error",
	    "refused: cancel (no retry can help)");
	T_HAS(text(out[0]), "longer than 2047", "saying why");
	release(out, n);
	xmpp_stanza_release(orig);

	T_EQ_INT(
	    answer("<iq type='result' id='x' from='a@b' to='rest.example'/>",
		500, "Internal Server Error", "", NULL, out),
	    0, "a result is never answered");
	T_EQ_INT(answer("<message type='error' id='x' from='a@b' "
			"to='rest.example'/>",
		     200, "OK", "application/xmpp+xml",
		     "<message><body>no</body></message>", out),
	    0, "an error is never answered");
}

/* Issue 14, finding 3: an answer to the bridge's own domain comes back
 * to the bridge as a new stanza, and the webhook answers that again. */
static void
test_never_to_own_domain(void)
{
	static const char *const from[] = {
	    "echo@rest.example", "REST.Example", "bot@Rest.Example/r"};
	static const char reply[] =
	    "<message><body>You said: hi</body></message>";
	xmpp_stanza_t *out[2];
	char orig[256];

	for (size_t i = 0; i < sizeof(from) / sizeof(from[0]); i++) {
		snprintf(orig, sizeof(orig),
		    "<message type='chat' id='e1' from='%s' "
		    "to='echo@rest.example'><body>hi</body>"
		    "<request xmlns='urn:xmpp:receipts'/></message>",
		    from[i]);
		T_EQ_INT(
		    answer(orig, 200, "OK", "application/xmpp+xml", reply, out),
		    0, "no reply, no receipt to the bridge's own domain");
		T_EQ_INT(
		    answer(orig, 500, "Internal Server Error", "", NULL, out),
		    0, "no error to the bridge's own domain");
	}
	snprintf(orig, sizeof(orig),
	    "<iq type='get' id='q2' from='x@rest.example' "
	    "to='bot@rest.example'><query xmlns='urn:x'/></iq>");
	T_EQ_INT(answer(orig, 204, "No Content", "", NULL, out), 0,
	    "no iq result to the bridge's own domain");
	T_EQ_INT(
	    answer("<message type='chat' id='e2' from='a@sub.rest.example' "
		   "to='echo@rest.example'><body>hi</body></message>",
		200, "OK", "application/xmpp+xml", reply, out),
	    1, "a subdomain is another host: answered");
	release(out, 1);
}

static void
test_receipts(void)
{
	xmpp_stanza_t *out[2];
	int n = answer("<message id='m9' from='alice@example.org/phone' "
		       "to='bot@rest.example'><body>x</body>"
		       "<request xmlns='urn:xmpp:receipts'/></message>",
	    200, "OK", "application/xmpp+xml",
	    "<message><body>reply</body></message>", out);

	T_EQ_INT(n, 2, "accepted with a receipt request: reply and receipt");
	T_HAS(text(out[1]), "<received id=\"m9\"",
	    "the receipt names the original id");
	T_HAS(text(out[1]), "xmlns=\"urn:xmpp:receipts\"",
	    "in the receipts namespace");
	T_HAS(text(out[1]), "to=\"alice@example.org/phone\"", "to the sender");
	release(out, n);
	n = answer("<message id='m9' from='a@b' to='bot@rest.example'>"
		   "<request xmlns='urn:xmpp:receipts'/></message>",
	    500, "Internal Server Error", "", NULL, out);
	T_EQ_INT(n, 1, "not accepted: an error, no receipt");
	T_OK(strstr(text(out[0]), "received") == NULL, "no receipt in it");
	release(out, n);
}

int
main(void)
{
	xmpp_initialize();
	ctx = xmpp_ctx_new(NULL, NULL);
	test_no_content();
	test_stanza_bodies();
	test_status_table();
	test_failures_and_silence();
	test_receipts();
	test_never_to_own_domain();
	xmpp_ctx_free(ctx);
	xmpp_shutdown();
	return t_done();
}
